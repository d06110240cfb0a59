/**
 * Herald's agent as an MCP server, driven by the official SDK's client: over stdio against the real
 * CLI (`herald mcp serve` in a child process, HERALD_HOME in a temp dir, the scripted upstream on
 * loopback), and over Streamable HTTP at `/mcp` on a test API server with keys (refused without one;
 * each key sees only its own conversations).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startTestServer, type TestServer } from './api-test-server.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

const herald = fileURLToPath(new URL('../bin/herald.js', import.meta.url));

const textOf = (result: unknown): string =>
  (result as CallToolResult).content.map((block) => (block.type === 'text' ? block.text : '')).join('');

describe('herald mcp serve over stdio', () => {
  let upstream: ScriptedUpstream;
  let home: string;
  let client: Client;
  before(async () => {
    upstream = await ScriptedUpstream.start();
    home = mkdtempSync(join(tmpdir(), 'herald-mcp-serve-'));
    writeFileSync(join(home, 'config.yaml'), 'logging:\n  level: warn\n');
    client = new Client({ name: 'test-client', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [herald, 'mcp', 'serve'],
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: home,
          HERALD_HOME: home,
          HERALD_BASE_URL: upstream.url,
          HERALD_API_KEY: 'upstream-key',
          HERALD_MODEL: 'scripted-model',
        },
        stderr: 'ignore',
      }),
    );
  });
  after(async () => {
    await client.close();
    await upstream.close();
    rmSync(home, { recursive: true, force: true });
  });

  test('lists the agent tools', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [
      'list_conversations',
      'read_conversation',
      'send_message',
    ]);
  });

  test('send_message runs the agent with progress while its tools run; the conversation can be read back', async () => {
    upstream.enqueue(
      { toolCalls: [{ id: 'call_1', name: 'read_file', arguments: { path: 'missing.txt' } }] },
      { text: 'There is no missing.txt.' },
    );
    const progress: (string | undefined)[] = [];
    const result = await client.callTool(
      { name: 'send_message', arguments: { message: 'read missing.txt', conversation: 'work' } },
      undefined,
      { onprogress: (p) => progress.push(p.message) },
    );
    assert.equal(result.isError, undefined);
    assert.equal(textOf(result), 'There is no missing.txt.');
    assert.deepEqual(progress, ['running herald/read_file']);
    const conversationId = (result.structuredContent as { conversation_id: string }).conversation_id;
    assert.match(conversationId, /^conv_/);

    const listed = await client.callTool({ name: 'list_conversations', arguments: {} });
    assert.match(textOf(listed), new RegExp(`${conversationId} "work"`));
    const read = await client.callTool({
      name: 'read_conversation',
      arguments: { conversation: conversationId },
    });
    assert.match(
      textOf(read),
      /^user: read missing\.txt\n\n\[tool herald\/read_file\]\n\nassistant: There is no missing\.txt\.$/,
    );
  });
});

describe('/mcp on the API server', () => {
  let t: TestServer;
  const connect = async (key?: string): Promise<Client> => {
    const client = new Client({ name: 'test-client', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), {
        requestInit: key ? { headers: { Authorization: `Bearer ${key}` } } : {},
      }),
    );
    return client;
  };
  before(async () => {
    t = await startTestServer({
      apiServer: {
        keys: [
          { name: 'alice', key: 'alice-key-123456' },
          { name: 'bob', key: 'bob-key-1234567' },
        ],
      },
    });
  });
  after(() => t.close());

  test('is refused without a key', async () => {
    await assert.rejects(connect(), /401|invalid_api_key|Unauthorized|API key/i);
    const wrong = await fetch(`${t.url}/mcp`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { error: { type: string } }).error.type, 'invalid_request_error');
  });

  test('answers with a key, and each key sees only its own conversations', async () => {
    const alice = await connect('alice-key-123456');
    const bob = await connect('bob-key-1234567');
    try {
      t.upstream.enqueue({ text: 'Hello Alice.' });
      const answer = await alice.callTool({
        name: 'send_message',
        arguments: { message: 'hi', conversation: 'diary' },
      });
      assert.equal(textOf(answer), 'Hello Alice.');
      const id = (answer.structuredContent as { conversation_id: string }).conversation_id;

      assert.match(
        textOf(await alice.callTool({ name: 'list_conversations', arguments: {} })),
        new RegExp(id),
      );
      assert.equal(
        textOf(await bob.callTool({ name: 'list_conversations', arguments: {} })),
        'No conversations.',
      );
      const stolen = await bob.callTool({ name: 'read_conversation', arguments: { conversation: id } });
      assert.equal(stolen.isError, true);
      assert.match(
        textOf(await alice.callTool({ name: 'read_conversation', arguments: { conversation: id } })),
        /assistant: Hello Alice\./,
      );
    } finally {
      await alice.close();
      await bob.close();
    }
  });
});
