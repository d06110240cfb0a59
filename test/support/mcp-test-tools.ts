/**
 * The tools of the small MCP servers the tests start (stdio and Streamable HTTP), written with the
 * official SDK's `McpServer`: `echo` (a nested input schema for passthrough checks), `slow` (waits,
 * and notes a cancellation in the event log), `crash` (the process dies), `add_tool` (registers
 * `late`, which sends `notifications/tools/list_changed`), `media` (image, resource link and
 * structured content), `fail` (an `isError` result) and `env` (the process environment, for the
 * isolation checks). Events are appended to the file named by `log` so a test can see what reached
 * the server.
 */
import { appendFileSync } from 'node:fs';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

export function registerTestTools(server: McpServer, log: string | undefined): void {
  const note = (line: string): void => {
    if (log) appendFileSync(log, `${line}\n`);
  };

  server.registerTool(
    'echo',
    {
      description: 'Echoes the text back.',
      inputSchema: {
        text: z.string().describe('What to echo'),
        options: z.object({ upper: z.boolean().optional() }).optional(),
      },
    },
    async ({ text, options }) => {
      note(`echo ${text}`);
      return { content: [{ type: 'text', text: options?.upper ? text.toUpperCase() : text }] };
    },
  );

  server.registerTool(
    'slow',
    { description: 'Waits, then answers.', inputSchema: { ms: z.number() } },
    async ({ ms }, extra) => {
      note('slow started');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        extra.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          note('slow cancelled');
          resolve();
        });
      });
      return { content: [{ type: 'text', text: 'slept' }] };
    },
  );

  server.registerTool('crash', { description: 'Exits the server process.' }, async () => {
    note('crash');
    process.stderr.write('test server: crashing on purpose\n');
    process.exit(3);
  });

  server.registerTool('add_tool', { description: 'Registers the tool `late`.' }, async () => {
    server.registerTool('late', { description: 'Arrived later.' }, async () => ({
      content: [{ type: 'text', text: 'late answer' }],
    }));
    return { content: [{ type: 'text', text: 'added' }] };
  });

  server.registerTool(
    'media',
    { description: 'Returns an image, a link and structured content.' },
    async () => ({
      content: [
        { type: 'text', text: 'a picture:' },
        { type: 'image', data: Buffer.from('not really a png').toString('base64'), mimeType: 'image/png' },
        { type: 'resource_link', uri: 'file:///pics/cat.png', name: 'cat.png', mimeType: 'image/png' },
      ],
      structuredContent: { count: 1 },
    }),
  );

  server.registerTool('fail', { description: 'Always fails.' }, async () => ({
    content: [{ type: 'text', text: 'the widget is broken' }],
    isError: true,
  }));

  server.registerTool('env', { description: 'The process environment as JSON.' }, async () => ({
    content: [{ type: 'text', text: JSON.stringify(process.env) }],
  }));
}
