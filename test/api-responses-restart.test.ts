/**
 * Stored responses and conversations live in the SQLite file, not in the server: after the server
 * and its database are closed and reopened on the same file, chains and conversations continue.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { type IncomingMessage, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import OpenAI from 'openai';
import { Agent } from '../src/agent/index.ts';
import { configSchema, type HeraldConfig } from '../src/config/index.ts';
import { createApiServer } from '../src/gateway/platforms/api-server/index.ts';
import { silentLogger } from '../src/logger.ts';
import { createModelClient } from '../src/model/index.ts';
import { Pulse } from '../src/observability/index.ts';
import { openDatabase, SqliteResponseStore, SqliteTranscriptStore } from '../src/store/index.ts';
import { createToolRegistry } from '../src/tools/index.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

const home = mkdtempSync(join(tmpdir(), 'herald-restart-'));
const upstream = await ScriptedUpstream.start();
after(async () => {
  await upstream.close();
  rmSync(home, { recursive: true, force: true });
});

const config: HeraldConfig = {
  ...configSchema.parse({
    model: { base_url: upstream.url, api_key: 'k', model: 'scripted-model', max_retries: 0 },
    api_server: { port: 0, shutdown_grace_s: 1 },
  }),
  home,
};

/** One server lifetime on the shared database file. */
async function boot(graceSeconds = 1) {
  const logger = silentLogger();
  const db = openDatabase(join(home, 'herald.db'));
  const tools = createToolRegistry(config);
  const server = createApiServer({
    config: { ...config, api_server: { ...config.api_server, shutdown_grace_s: graceSeconds } },
    agent: new Agent({ model: createModelClient(config.model, { logger }), tools, config, logger }),
    tools,
    responseStore: new SqliteResponseStore(db, { retention: { maxStored: 100, maxAgeDays: 30 } }),
    transcripts: new SqliteTranscriptStore(db),
    logger,
    version: '0.0.0-test',
    pulse: new Pulse({ config, version: '0.0.0-test', storeOpen: () => db.isOpen }),
  });
  await server.start();
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 20_000 });
  return {
    client,
    url: server.url,
    async stop() {
      await server.stop();
      db.close();
    },
  };
}

describe('restart', { timeout: 30_000 }, () => {
  it('keeps responses, chains and conversations across a server and database restart', async () => {
    upstream.enqueue({ text: 'first answer' }, { text: 'conv answer' });
    const one = await boot();
    const first = await one.client.responses.create({ model: 'herald', input: 'first question' });
    const inConversation = await one.client.responses.create({
      model: 'herald',
      input: 'conv q',
      conversation: 'work',
    });
    await one.stop();

    const two = await boot();
    try {
      const retrieved = await two.client.responses.retrieve(first.id);
      assert.equal(retrieved.output_text, 'first answer');
      upstream.enqueue({ text: 'second answer' }, { text: 'conv again' });
      await two.client.responses.create({
        model: 'herald',
        input: 'second question',
        previous_response_id: first.id,
      });
      assert.deepEqual(
        upstream.requests
          .at(-1)
          ?.body.messages.slice(1)
          .map((m: { content: string }) => m.content),
        ['first question', 'first answer', 'second question'],
      );
      const again = await two.client.responses.create({
        model: 'herald',
        input: 'conv q2',
        conversation: 'work',
      });
      assert.equal(again.conversation?.id, inConversation.conversation?.id);
      assert.deepEqual(
        upstream.requests
          .at(-1)
          ?.body.messages.slice(1)
          .map((m: { content: string }) => m.content),
        ['conv q', 'conv answer', 'conv q2'],
      );
    } finally {
      await two.stop();
    }
  });

  it('stores a response interrupted by shutdown as incomplete, readable after restart', async () => {
    upstream.enqueue({ hang: true });
    const one = await boot(0);
    // A connection of its own (no keep-alive pool), so the server can close it as soon as the stream ends.
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`${one.url}/v1/responses`, {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', connection: 'close' },
      });
      req.on('response', resolve).on('error', reject);
      req.end(JSON.stringify({ model: 'herald', input: 'never answered', stream: true }));
    });
    res.setEncoding('utf8');
    const chunks = res[Symbol.asyncIterator]();
    const first = String((await chunks.next()).value);
    const id = JSON.parse(/data: (.*)/.exec(first)![1]!).response.id as string;
    const stopping = one.stop();
    let rest = '';
    for await (const chunk of { [Symbol.asyncIterator]: () => chunks }) rest += chunk;
    await stopping;
    assert.match(rest, /event: response.incomplete/);

    const two = await boot();
    try {
      const stored = await two.client.responses.retrieve(id);
      assert.equal(stored.status, 'incomplete');
      assert.deepEqual(stored.incomplete_details, { reason: 'interrupted' });
    } finally {
      await two.stop();
    }
  });
});
