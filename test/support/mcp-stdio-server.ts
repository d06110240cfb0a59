/**
 * A small MCP server over stdio for the tests, run as `node test/support/mcp-stdio-server.ts`. Its
 * tools are in mcp-test-tools.ts; `MCP_TEST_LOG` names the event log file.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { registerTestTools } from './mcp-test-tools.ts';

const server = new McpServer({ name: 'herald-test-stdio', version: '1.0.0' });
registerTestTools(server, process.env['MCP_TEST_LOG']);
if (process.env['MCP_TEST_LOG']) {
  const { appendFileSync } = await import('node:fs');
  appendFileSync(process.env['MCP_TEST_LOG'], `started ${process.pid}\n`);
}
await server.connect(new StdioServerTransport());
