/**
 * Every stored object belongs to the API key that created it: another key gets the same 404 as for a
 * missing id (responses, their input items, cancel, delete, chains, item references, conversations by
 * id and by name, chat sessions, Idempotency-Key replays). Named keys log their name, never the key,
 * and may be limited to some profiles.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import OpenAI, { APIError } from 'openai';
import { WebSocket } from 'ws';
import { createLogger } from '../src/logger.ts';
import { startTestServer, type TestServer } from './api-test-server.ts';

const keyA = 'alice-secret-key-0001';
const keyB = 'plain-secret-key-0002';
const keyC = 'carol-secret-key-0003';

let h: TestServer;
let a: OpenAI;
let b: OpenAI;
const lines: Record<string, unknown>[] = [];

before(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  h = await startTestServer({
    config: { profiles: { coder: {} } },
    apiServer: {
      keys: [{ name: 'alice', key: keyA }, keyB, { name: 'carol', key: keyC, profiles: ['coder'] }],
    },
    logger: createLogger('info', sink),
  });
  const client = (apiKey: string) =>
    new OpenAI({ baseURL: h.baseURL, apiKey, maxRetries: 0, timeout: 20_000 });
  a = client(keyA);
  b = client(keyB);
});
after(() => h.close());

/** The error a call fails with (status and OpenAI error body). */
async function failure(call: Promise<unknown>): Promise<{ status: number | undefined; error: unknown }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof APIError) return { status: error.status, error: error.error };
    throw error;
  }
  assert.fail('expected the call to fail');
}

/** Another key's object answers exactly like a missing one, with the id swapped. */
async function assertHidden(id: string, missing: string, call: (id: string) => Promise<unknown>) {
  const theirs = await failure(call(id));
  const none = await failure(call(missing));
  assert.equal(theirs.status, 404);
  assert.deepEqual(JSON.parse(JSON.stringify(theirs.error).replaceAll(id, missing)), none.error);
}

describe('ownership', () => {
  test("key B cannot reach key A's response by id, chain, cancel, delete or item reference", async () => {
    const mine = await a.responses.create({ model: 'herald', input: 'secret plan' });
    const missing = 'resp_00000000000000000000000000000000';
    await assertHidden(mine.id, missing, (id) => b.responses.retrieve(id));
    await assertHidden(mine.id, missing, (id) => b.responses.inputItems.list(id));
    await assertHidden(mine.id, missing, (id) => b.responses.cancel(id));
    await assertHidden(mine.id, missing, (id) => b.responses.delete(id));
    await assertHidden(mine.id, missing, (id) =>
      b.responses.create({ model: 'herald', input: 'go on', previous_response_id: id }),
    );
    const itemId = mine.output[0]!.id!;
    const byReference = await failure(
      b.responses.create({ model: 'herald', input: [{ type: 'item_reference', id: itemId }] }),
    );
    assert.equal(byReference.status, 400);
    assert.match(JSON.stringify(byReference.error), /item_not_found/);
    // Still there for its owner.
    assert.equal((await a.responses.retrieve(mine.id)).output_text, 'ok');
  });

  test("a conversation name is per key; key B cannot reach key A's conversation by id", async () => {
    h.upstream.enqueue({ text: 'A remembers' });
    const first = await a.responses.create({
      model: 'herald',
      input: 'A private note',
      conversation: 'work',
    });
    h.upstream.enqueue({ text: 'B answers' });
    const n = h.upstream.requests.length;
    const other = await b.responses.create({ model: 'herald', input: 'hello', conversation: 'work' });
    assert.doesNotMatch(JSON.stringify(h.upstream.requests[n]!.body.messages), /A private note/);
    const convA = (first.conversation as { id: string }).id;
    assert.notEqual((other.conversation as { id: string }).id, convA);
    const missing = 'conv_00000000000000000000000000000000';
    await assertHidden(convA, missing, (id) => b.conversations.retrieve(id));
    await assertHidden(convA, missing, (id) => b.conversations.items.list(id));
    await assertHidden(convA, missing, (id) => b.conversations.update(id, { metadata: { x: '1' } }));
    await assertHidden(convA, missing, (id) => b.conversations.delete(id));
    await assertHidden(convA, missing, (id) =>
      b.conversations.items.create(id, { items: [{ type: 'message', role: 'user', content: 'x' }] }),
    );
    const itemId = (await a.conversations.items.list(convA)).data[0]!.id!;
    await assertHidden(convA, missing, (id) =>
      b.conversations.items.retrieve(itemId, { conversation_id: id }),
    );
    await assertHidden(convA, missing, (id) =>
      b.responses.create({ model: 'herald', input: 'x', conversation: id }),
    );
    assert.equal((await a.conversations.items.list(convA)).data.length, 2);
  });

  test("key B's X-Herald-Session-Id of key A's session starts a fresh session", async () => {
    h.upstream.enqueue({ text: 'A noted it' });
    const { response } = await a.chat.completions
      .create({ model: 'herald', messages: [{ role: 'user', content: 'A-ONLY-SECRET' }] })
      .withResponse();
    const sessionA = response.headers.get('x-herald-session-id')!;
    const n = h.upstream.requests.length;
    const { response: other } = await b.chat.completions
      .create(
        { model: 'herald', messages: [{ role: 'user', content: 'what was said?' }] },
        { headers: { 'x-herald-session-id': sessionA } },
      )
      .withResponse();
    assert.notEqual(other.headers.get('x-herald-session-id'), sessionA);
    assert.doesNotMatch(JSON.stringify(h.upstream.requests[n]!.body.messages), /A-ONLY-SECRET/);
  });

  test('an Idempotency-Key replays only to the key that used it', async () => {
    const body = { model: 'herald', input: 'same body' };
    const options = { headers: { 'idempotency-key': 'idem-shared-1' } };
    const runs = h.upstream.requests.length;
    const first = await a.responses.create(body, options);
    const replay = await a.responses.create(body, options).withResponse();
    assert.equal(replay.data.id, first.id);
    const { data, response } = await b.responses.create(body, options).withResponse();
    assert.notEqual(data.id, first.id);
    assert.equal(response.headers.get('idempotent-replayed'), null);
    assert.equal(h.upstream.requests.length, runs + 2);
  });

  test('a key limited to some profiles gets 404 model_not_found for others and lists only its own', async () => {
    const c = new OpenAI({ baseURL: h.baseURL, apiKey: keyC, maxRetries: 0, timeout: 20_000 });
    const denied = await failure(c.responses.create({ model: 'herald', input: 'hi' }));
    assert.equal(denied.status, 404);
    assert.match(JSON.stringify(denied.error), /model_not_found/);
    const deniedChat = await failure(
      c.chat.completions.create({ model: 'herald', messages: [{ role: 'user', content: 'hi' }] }),
    );
    assert.equal(deniedChat.status, 404);
    assert.equal((await c.responses.create({ model: 'coder', input: 'hi' })).status, 'completed');
    assert.deepEqual(
      (await c.models.list()).data.map((m) => m.id),
      ['coder'],
    );
    assert.equal((await failure(c.models.retrieve('herald'))).status, 404);
  });

  test('the request log names the key, never shows it', async () => {
    await a.models.list();
    await b.models.list();
    await new Promise((r) => setTimeout(r, 50));
    const requests = lines.filter((l) => l['event'] === 'api.request');
    assert.ok(requests.some((l) => l['keyName'] === 'alice'));
    assert.ok(requests.some((l) => l['keyName'] === 'carol'));
    assert.doesNotMatch(JSON.stringify(lines), new RegExp(`${keyA}|${keyB}|${keyC}`));
  });
});

describe('WebSocket mode', () => {
  /** Sends one `response.create` on a socket opened with `key` and returns the event that ended it. */
  function createOverSocket(key: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${h.url.replace('http', 'ws')}/v1/responses`, {
        headers: { authorization: `Bearer ${key}` },
      });
      ws.once('open', () => ws.send(JSON.stringify({ type: 'response.create', ...body })));
      ws.on('message', (data) => {
        const event = JSON.parse(String(data)) as Record<string, unknown>;
        if (
          event.type === 'error' ||
          event.type === 'response.completed' ||
          event.type === 'response.failed'
        ) {
          ws.close();
          resolve(event);
        }
      });
      ws.once('error', reject);
    });
  }

  test('a socket opened with one key cannot continue, and does not own, another key’s response', async () => {
    h.upstream.enqueue({ text: 'secret plan' });
    const mine = await a.responses.create({ model: 'herald', input: 'remember the plan' });
    const refused = await createOverSocket(keyB, {
      model: 'herald',
      input: 'what was the plan?',
      previous_response_id: mine.id,
    });
    assert.equal(refused.type, 'error');
    assert.equal((refused.error as { code: string }).code, 'previous_response_not_found');

    h.upstream.enqueue({ text: 'noted' });
    const done = await createOverSocket(keyB, { model: 'herald', input: 'a socket turn' });
    assert.equal(done.type, 'response.completed');
    const id = (done.response as { id: string }).id;
    assert.equal((await b.responses.retrieve(id)).id, id, 'the socket’s key owns its response');
    await assertHidden(id, 'resp_missing_ws', (x) => a.responses.retrieve(x));
  });
});
