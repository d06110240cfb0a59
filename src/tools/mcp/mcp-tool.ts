/**
 * One tool of an MCP server as a Herald tool: named `<server>__<tool>` (characters OpenAI function
 * names do not allow become `_`, the whole is cut to 64), its `inputSchema` passed to the model as is,
 * its arguments passed to the server as an object (the server validates them against its own schema),
 * and its result rendered to text (mcp-result-text.ts). A result flagged `isError` is thrown so the
 * model sees it as a failed call. It does not connect or retry (mcp-connection.ts).
 */
import type { Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Tool, ToolOutput } from '../types.ts';
import type { McpConnection } from './mcp-connection.ts';
import { mcpResultText } from './mcp-result-text.ts';

/** What the model may call a function (OpenAI: `^[a-zA-Z0-9_-]{1,64}$`). */
export function mcpToolName(server: string, tool: string): string {
  return `${server}__${tool.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64);
}

const mcpArgs = z.record(z.string(), z.unknown());

/** Thrown for a result the server flagged `isError`: the model reads its text as the error. */
class McpToolResultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'McpToolResultError';
  }
}

export function createMcpTool(
  connection: McpConnection,
  tool: McpTool,
): Tool<Record<string, unknown>, string | ToolOutput> {
  const server = connection.name;
  return {
    name: mcpToolName(server, tool.name),
    description:
      tool.description ?? tool.title ?? tool.annotations?.title ?? `${tool.name} (MCP server ${server})`,
    schema: mcpArgs,
    parameters: tool.inputSchema,
    origin: { server, tool: tool.name },
    label: () => `${server}: ${tool.name}`,
    async execute(args, ctx) {
      const result = await connection.callTool(tool.name, args, ctx.signal);
      const text = mcpResultText(result, ctx.config.terminal.max_output_chars);
      if (result.isError === true) throw new McpToolResultError(text);
      const images = result.content.flatMap((block) =>
        block.type === 'image' ? [{ mimeType: block.mimeType, data: block.data }] : [],
      );
      return images.length > 0 ? { text, images } : text;
    },
  };
}
