/**
 * `POST /mcp`: Herald's agent over MCP's Streamable HTTP transport, on the API server, behind the same
 * auth hook as every other route, so an MCP client sends the same bearer key an OpenAI client would and
 * sees only that key's conversations. Stateless: each request gets a fresh MCP server and transport
 * (no `Mcp-Session-Id`), which is all the agent tools need; a reply with progress notifications streams
 * as SSE. GET (a standalone notification stream) and DELETE (session end) have nothing to serve here.
 * The tools themselves live in herald-mcp-server.ts.
 */
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyInstance } from 'fastify';
import type { ResponseStore } from '../../../store/index.ts';
import { callerOf } from './api-caller.ts';
import { ApiError } from './errors.ts';
import { createHeraldMcpServer } from './herald-mcp-server.ts';
import type { ResponseTurns } from './responses-routes.ts';

export interface McpRouteDeps {
  turns: ResponseTurns;
  responseStore: ResponseStore;
  version: string;
}

export function registerMcpRoute(app: FastifyInstance, deps: McpRouteDeps): void {
  app.post('/mcp', async (request, reply) => {
    const server = createHeraldMcpServer({
      turns: deps.turns,
      store: deps.responseStore,
      caller: callerOf(request),
      version: deps.version,
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    reply.hijack();
    reply.raw.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(request.raw, reply.raw, request.body);
  });
  const noStream = async (): Promise<never> => {
    throw new ApiError(405, 'This MCP endpoint is stateless: send JSON-RPC requests with POST /mcp.', {
      type: 'invalid_request_error',
      code: 'method_not_allowed',
    });
  };
  app.get('/mcp', noStream);
  app.delete('/mcp', noStream);
}
