/**
 * An agent turn through the API server using a real MCP server's tool (the stdio test server in
 * test/support): the model is offered `<server>__<tool>` with the server's input schema, the call runs
 * on the MCP server, and the client sees it as a hosted `mcp_call` item labelled with the server and
 * the tool's own name (built-ins keep `herald`), or as `herald.tool.progress` events naming the server.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type OpenAI from 'openai';
import { configSchema } from '../src/config/index.ts';
import { silentLogger } from '../src/logger.ts';
import { McpClients } from '../src/tools/index.ts';
import { parseSse, startTestServer, type TestServer } from './api-test-server.ts';

const stdioServer = fileURLToPath(new URL('./support/mcp-stdio-server.ts', import.meta.url));

/** A test server whose agent has the stdio test MCP server as `files`, and its MCP clients. */
async function startWithMcp(
  config: Record<string, unknown> = {},
): Promise<{ t: TestServer; mcp: McpClients }> {
  const mcpServers = { files: { command: process.execPath, args: [stdioServer] } };
  // The MCP clients are built from the same raw config the test server gets.
  let clients: McpClients | undefined;
  const t = await startTestServer({
    config: { ...config, mcp_servers: mcpServers },
    // Progress as named events (not the default reasoning lines), to read the server label off them.
    apiServer: { tool_progress: 'events' },
    mcpTools: () => clients?.tools() ?? [],
  });
  mkdirSync(join(t.home, 'workspace'), { recursive: true });
  clients = new McpClients({
    config: { ...configSchema.parse({ mcp_servers: mcpServers }), home: t.home },
    logger: silentLogger(),
    workspace: join(t.home, 'workspace'),
    version: '0.0.0-test',
  });
  clients.start();
  await clients.ready();
  return { t, mcp: clients };
}

/** The upstream request that followed a `files__media` call: its messages after the tool message. */
async function afterMediaCall(t: TestServer): Promise<{ role: string; content: unknown }[]> {
  t.upstream.enqueue(
    { toolCalls: [{ id: 'call_m', name: 'files__media', arguments: {} }] },
    { text: 'A picture.' },
  );
  await t.client.responses.create({ model: 'herald', input: 'show me' });
  const messages = t.upstream.requests.at(-1)?.body.messages as { role: string; content: unknown }[];
  return messages.slice(messages.findIndex((m) => m.role === 'tool') + 1);
}

describe('MCP tools through the API server', () => {
  let t: TestServer;
  let mcp: McpClients;
  before(async () => {
    ({ t, mcp } = await startWithMcp());
  });
  after(async () => {
    await mcp.stop();
    await t.close();
  });

  test('an image result is only described to a model that does not take images', async () => {
    assert.deepEqual(await afterMediaCall(t), [], 'nothing follows the tool message');
  });

  test('the model gets the server tool with its schema; the call is an mcp_call item with the server label', async () => {
    t.upstream.enqueue(
      { toolCalls: [{ id: 'call_e', name: 'files__echo', arguments: { text: 'from mcp' } }] },
      { text: 'It said: from mcp' },
    );
    const response = await t.client.responses.create({ model: 'herald', input: 'echo it' });
    assert.equal(response.status, 'completed');
    const call = response.output[0] as OpenAI.Responses.ResponseOutputItem.McpCall;
    assert.equal(call.type, 'mcp_call');
    assert.equal(call.server_label, 'files');
    assert.equal(call.name, 'echo');
    assert.equal(call.output, 'from mcp');
    assert.equal(response.output_text, 'It said: from mcp');

    const offered = t.upstream.requests.at(-2)?.body.tools as {
      function: { name: string; parameters: unknown };
    }[];
    const echo = offered.find((tool) => tool.function.name === 'files__echo');
    assert.ok(echo, 'files__echo offered upstream');
    assert.deepEqual(echo.function.parameters, {
      type: 'object',
      properties: {
        text: { type: 'string', description: 'What to echo' },
        options: { type: 'object', properties: { upper: { type: 'boolean' } } },
      },
      required: ['text'],
    });
    assert.ok(
      offered.some((tool) => tool.function.name === 'terminal'),
      'built-ins still offered',
    );
    // The tool result went back upstream as the tool message.
    const toolMessage = t.upstream.requests.at(-1)?.body.messages.at(-1);
    assert.deepEqual([toolMessage.role, toolMessage.content], ['tool', 'from mcp']);
  });

  test('built-in tools keep server_label "herald"', async () => {
    t.upstream.enqueue(
      { toolCalls: [{ id: 'call_r', name: 'read_file', arguments: { path: 'none.txt' } }] },
      { text: 'no file' },
    );
    const response = await t.client.responses.create({ model: 'herald', input: 'read it' });
    const call = response.output[0] as OpenAI.Responses.ResponseOutputItem.McpCall;
    assert.deepEqual([call.server_label, call.name], ['herald', 'read_file']);
  });

  test('chat completions progress events name the server', async () => {
    t.upstream.enqueue(
      { toolCalls: [{ id: 'call_p', name: 'files__echo', arguments: { text: 'p' } }] },
      { text: 'done' },
    );
    const res = await fetch(`${t.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'herald', stream: true, messages: [{ role: 'user', content: 'go' }] }),
    });
    const frames = parseSse(await res.text());
    const progress = frames.filter((f) => f.event === 'herald.tool.progress').map((f) => JSON.parse(f.data));
    assert.deepEqual(
      progress.map((p) => [p.tool, p.server, p.status, p.label]),
      [
        ['files__echo', 'files', 'running', 'files: echo'],
        ['files__echo', 'files', 'completed', 'files__echo'],
      ],
    );
  });
});

describe('MCP images to a model that takes them (model.supports_images)', () => {
  let t: TestServer;
  let mcp: McpClients;
  before(async () => {
    ({ t, mcp } = await startWithMcp({ model: { supports_images: true } }));
  });
  after(async () => {
    await mcp.stop();
    await t.close();
  });

  test('the image follows the tool round as a user message the model sees, not stored in the transcript', async () => {
    const following = await afterMediaCall(t);
    assert.equal(following.length, 1);
    const [message] = following;
    assert.equal(message?.role, 'user');
    const parts = message?.content as { type: string; text?: string; image_url?: { url: string } }[];
    assert.match(parts[0]?.text ?? '', /Images returned by the tool calls above \(files__media\)/);
    assert.equal(
      parts[1]?.image_url?.url,
      `data:image/png;base64,${Buffer.from('not really a png').toString('base64')}`,
    );
  });
});
