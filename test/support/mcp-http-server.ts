/**
 * A small MCP server over Streamable HTTP for the tests, on a loopback port: stateless (a fresh
 * `McpServer` and transport per request, as the SDK's examples do), optionally requiring a bearer
 * token. Its tools are in mcp-test-tools.ts. `close()` ends every connection.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { registerTestTools } from './mcp-test-tools.ts';

export interface McpHttpTestServer {
  url: string;
  /** Headers of every request received. */
  requests: IncomingHttpHeaders[];
  close(): Promise<void>;
}

export async function startMcpHttpServer(options: { token?: string } = {}): Promise<McpHttpTestServer> {
  const requests: IncomingHttpHeaders[] = [];
  const http = createServer((req, res) => {
    requests.push(req.headers);
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    const server = new McpServer({ name: 'herald-test-http', version: '1.0.0' });
    registerTestTools(server, undefined);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    void server.connect(transport).then(() => transport.handleRequest(req, res));
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    requests,
    async close() {
      http.closeAllConnections();
      http.close();
      await once(http, 'close');
    },
  };
}
