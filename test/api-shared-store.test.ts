/**
 * Two API server replicas in one test process sharing one PostgreSQL database (each with its own
 * pools), driven with the official SDK as a load balancer would spread a client's requests: state
 * written through one is read, chained and deleted through the other; turns of one conversation or
 * session sent to both land one after the other, none lost; an Idempotency-Key retry on the other
 * replica replays the first result; and start-up recovery leaves a live replica's run alone but
 * recovers one whose replica's lease expired.
 */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { APIError } from 'openai';
import pg from 'pg';
import { openStores, type Stores } from '../src/store/index.ts';
import { startTestServer, type TestServer } from './api-test-server.ts';
import { freshDatabaseUrl, postgresSkipReason } from './support/postgres.ts';
import { echoResponder, ScriptedUpstream, userTexts } from './support/scripted-upstream.ts';

describe('two replicas sharing one PostgreSQL store', { skip: postgresSkipReason() }, () => {
  let url: string;
  let upstream: ScriptedUpstream;
  const stores: Stores[] = [];
  let a: TestServer;
  let b: TestServer;

  before(async () => {
    url = await freshDatabaseUrl();
    // A short delay per answer widens the window in which unserialised turns would overlap.
    upstream = await ScriptedUpstream.start({ responder: echoResponder({ delayMs: 20 }) });
    const replica = async (): Promise<TestServer> => {
      const shared = await openStores({
        sqliteFile: join(tmpdir(), 'unused-with-a-url.db'),
        url,
        poolSize: 4,
        leaseMs: 30_000,
        maxTurnHolders: 16,
      });
      stores.push(shared);
      return startTestServer({ upstream, stores: shared, apiServer: { max_concurrent_runs: 16 } });
    };
    a = await replica();
    b = await replica();
  });

  after(async () => {
    await a?.close();
    await b?.close();
    for (const store of stores) await store.close();
    await upstream?.close();
  });

  it('reads, chains and deletes through one replica a response created through the other', async () => {
    const first = await a.client.responses.create({ model: 'herald', input: 'remember the word kiwi' });
    const fetched = await b.client.responses.retrieve(first.id);
    assert.equal(fetched.output_text, first.output_text);
    const second = await b.client.responses.create({
      model: 'herald',
      input: 'what was the word?',
      previous_response_id: first.id,
    });
    assert.equal(second.previous_response_id, first.id);
    assert.deepEqual(userTexts(upstream.requests.at(-1)!), ['remember the word kiwi', 'what was the word?']);
    await b.client.responses.delete(first.id);
    await assert.rejects(a.client.responses.retrieve(first.id), (error: unknown) => {
      assert.ok(error instanceof APIError);
      assert.equal(error.status, 404);
      return true;
    });
  });

  it('continues a named conversation alternately through both replicas, every turn in order', async () => {
    const inputs = Array.from({ length: 6 }, (_, i) => `turn ${i}`);
    let conversationId = '';
    for (const [i, input] of inputs.entries()) {
      const replica = i % 2 === 0 ? a : b;
      const response = await replica.client.responses.create({
        model: 'herald',
        input,
        conversation: 'shared-work',
      });
      conversationId = (response.conversation as { id: string }).id;
      assert.deepEqual(userTexts(upstream.requests.at(-1)!), inputs.slice(0, i + 1));
    }
    const items = await b.client.conversations.items.list(conversationId, { order: 'asc', limit: 100 });
    const said = items.data.flatMap((item) =>
      item.type === 'message' && item.role === 'user'
        ? item.content.flatMap((part) => ('text' in part ? [part.text] : []))
        : [],
    );
    assert.deepEqual(said, inputs);
  });

  it('lands 12 concurrent turns of one chat session split across both replicas, one after the other', async () => {
    const opened = await a.client.chat.completions
      .create({ model: 'herald', messages: [{ role: 'user', content: 'start' }] })
      .withResponse();
    const sessionId = opened.response.headers.get('x-herald-session-id');
    assert.ok(sessionId);
    const seen = upstream.requests.length;
    const turns = Array.from({ length: 12 }, (_, i) => `concurrent ${i}`);
    await Promise.all(
      turns.map((content, i) =>
        (i % 2 === 0 ? a : b).client.chat.completions.create(
          { model: 'herald', messages: [{ role: 'user', content }] },
          { headers: { 'X-Herald-Session-Id': sessionId } },
        ),
      ),
    );
    // Serialised turns each saw every earlier one: 2, 3, … 13 user messages, never the same count twice.
    const counts = upstream.requests
      .slice(seen)
      .map((request) => userTexts(request).length)
      .sort((x, y) => x - y);
    assert.deepEqual(
      counts,
      turns.map((_, i) => i + 2),
    );
    await b.client.chat.completions.create(
      { model: 'herald', messages: [{ role: 'user', content: 'done?' }] },
      { headers: { 'X-Herald-Session-Id': sessionId } },
    );
    const last = userTexts(upstream.requests.at(-1)!);
    assert.deepEqual([...last].sort(), ['start', ...turns, 'done?'].sort());
  });

  it('replays the first result of an Idempotency-Key retry that lands on the other replica', async () => {
    const options = { headers: { 'Idempotency-Key': 'shared-retry-1' } };
    const body = { model: 'herald', input: 'charge the card once' };
    const first = await a.client.responses.create(body, options);
    const runs = upstream.requests.length;
    const retried = await b.client.responses.create(body, options).withResponse();
    assert.equal(retried.data.id, first.id);
    assert.equal(retried.response.headers.get('idempotent-replayed'), 'true');
    assert.equal(upstream.requests.length, runs, 'the retry did not run the agent again');
    await assert.rejects(
      b.client.responses.create({ ...body, input: 'something else' }, options),
      (error: unknown) => error instanceof APIError && error.status === 409,
    );
  });

  it("leaves a live replica's running response alone and recovers it once that replica's lease expired", async () => {
    upstream.enqueue({ hang: true });
    const seen = upstream.requests.length;
    const stream = await a.client.responses.create({ model: 'herald', input: 'a long task', stream: true });
    const first = await stream[Symbol.asyncIterator]().next();
    const id = (first.value as { response: { id: string } }).response.id;
    await upstream.waitForRequests(seen + 1);
    const [storesA, storesB] = stores as [Stores, Stores];

    assert.equal(await storesB.responses.markInterrupted(), 0);
    assert.equal((await b.client.responses.retrieve(id)).status, 'in_progress');

    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(
        "UPDATE herald_replicas SET lease_expires_at = now() - interval '1 second' WHERE instance_id = $1",
        [storesA.shared?.instanceId],
      );
    } finally {
      await admin.end();
    }
    assert.equal(await storesB.responses.markInterrupted(), 1);
    const recovered = await b.client.responses.retrieve(id);
    assert.equal(recovered.status, 'incomplete');
    assert.deepEqual(recovered.incomplete_details, { reason: 'interrupted' });
    stream.controller.abort();
  });
});
