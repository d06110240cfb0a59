/**
 * Acting on a run through the replica that does not execute it: two API server replicas in one test
 * process on one PostgreSQL database, a response or run executing on A, and the cancel, delete, stop,
 * approval answer and steer sent to B, as a round-robin load balancer would. B reaches A through the
 * store's control channel (LISTEN/NOTIFY, command rows); A acts and B answers as if the run were its
 * own. Latencies are reported as diagnostics; only hang guards bound them.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { APIError } from 'openai';
import { openStores, type Stores } from '../src/store/index.ts';
import { parseSse, startTestServer, type TestServer } from './api-test-server.ts';
import { freshDatabaseUrl, postgresSkipReason } from './support/postgres.ts';
import { readRunEvents } from './support/run-events.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

const key = 'key-cross-replica';

async function api(h: { url: string }, method: string, path: string, body?: unknown) {
  const response = await fetch(`${h.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  return { status: response.status, body: (await response.json()) as any };
}

/** Reads an SSE response to its end. */
async function rest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) return text;
    text += decoder.decode(chunk.value, { stream: true });
  }
}

describe('cancel, delete, stop and answers through the other replica', {
  skip: postgresSkipReason(),
  timeout: 60_000,
}, () => {
  let upstream: ScriptedUpstream;
  const stores: Stores[] = [];
  let a: TestServer;
  let b: TestServer;

  before(async () => {
    const url = await freshDatabaseUrl();
    upstream = await ScriptedUpstream.start();
    const replica = async (): Promise<TestServer> => {
      const shared = await openStores({
        sqliteFile: join(tmpdir(), 'unused-with-a-url.db'),
        url,
        poolSize: 4,
        leaseMs: 30_000,
        maxTurnHolders: 8,
      });
      stores.push(shared);
      return startTestServer({ upstream, stores: shared, apiServer: { keys: [key] } });
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

  /** Starts a streamed response on A whose upstream hangs; resolves once it runs (and is stored). */
  const streamOnA = async () => {
    upstream.enqueue({ hang: true });
    const seen = upstream.requests.length;
    const res = await fetch(`${a.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'herald', input: 'a long task', stream: true }),
    });
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    const id = JSON.parse(parseSse(new TextDecoder().decode(value))[0]!.data).response.id as string;
    await upstream.waitForRequests(seen + 1);
    return { id, reader };
  };

  it("cancels a response streaming on A through B: A's stream ends cancelled, B answers the cancelled Response", async (t) => {
    const { id, reader } = await streamOnA();
    const started = performance.now();
    const cancelled = await b.client.responses.cancel(id);
    t.diagnostic(
      `cancel through the other replica answered in ${Math.round(performance.now() - started)} ms`,
    );
    assert.equal(cancelled.id, id);
    assert.equal(cancelled.status, 'cancelled');
    const frames = parseSse(await rest(reader));
    assert.equal(JSON.parse(frames.at(-2)!.data).response.status, 'cancelled');
    assert.equal(frames.at(-1)?.data, '[DONE]');
    assert.equal((await b.client.responses.retrieve(id)).status, 'cancelled');
    await assert.rejects(b.client.responses.cancel(id), (error: unknown) => {
      assert.ok(error instanceof APIError);
      assert.equal(error.status, 409);
      assert.equal((error.error as { code?: string }).code, 'response_not_cancellable');
      return true;
    });
  });

  it('deletes through B a response running on A: the run stops and is not stored again', async () => {
    const { id, reader } = await streamOnA();
    const deleted = await b.client.responses.delete(id);
    assert.deepEqual(deleted, { id, object: 'response', deleted: true });
    const frames = parseSse(await rest(reader));
    assert.equal(frames.at(-1)?.data, '[DONE]', "A's stream ended");
    for (const replica of [a, b]) {
      await assert.rejects(replica.client.responses.retrieve(id), (error: unknown) => {
        assert.ok(error instanceof APIError);
        assert.equal(error.status, 404);
        return true;
      });
    }
  });

  it('stops through B a run executing on A, whose events B follows to the end', async (t) => {
    upstream.enqueue({ hang: true });
    const seen = upstream.requests.length;
    const created = await api(a, 'POST', '/v1/runs', { input: 'take your time' });
    assert.equal(created.status, 202);
    const runId = created.body.run_id as string;
    await upstream.waitForRequests(seen + 1);
    const following = readRunEvents(b.url, runId, { key });
    const started = performance.now();
    const stopped = await api(b, 'POST', `/v1/runs/${runId}/stop`);
    t.diagnostic(`stop through the other replica answered in ${Math.round(performance.now() - started)} ms`);
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    assert.equal(stopped.body.status, 'cancelled');
    assert.equal(stopped.body.run_id, runId);
    const events = await following;
    assert.deepEqual(
      events.map((e) => e.event),
      ['run.started', 'run.cancelled'],
    );
    assert.equal((await api(a, 'GET', `/v1/runs/${runId}`)).body.status, 'cancelled');
    assert.equal((await api(b, 'POST', `/v1/runs/${runId}/stop`)).body.error.code, 'run_not_active');
  });

  it('answers through B an approval a run on A waits for, and steers it there', async () => {
    mkdirSync(join(a.home, 'workspace', 'build'), { recursive: true });
    upstream.enqueue(
      { toolCalls: [{ id: 'call_rm', name: 'terminal', arguments: { command: 'rm -rf build' } }] },
      { text: 'Cleaned.' },
    );
    const created = await api(a, 'POST', '/v1/runs', { input: 'clean the build directory' });
    const runId = created.body.run_id as string;
    const upToRequest = await readRunEvents(b.url, runId, {
      key,
      until: (e) => e.event === 'approval.requested',
    });
    const requestId = upToRequest.at(-1)!.data.request_id as string;

    const waiting = await api(b, 'GET', `/v1/runs/${runId}`);
    assert.equal(waiting.body.status, 'waiting_for_approval');
    assert.equal(waiting.body.pending_approvals[0]?.request_id, requestId, 'asked of A');
    const steered = await api(b, 'POST', `/v1/runs/${runId}/steer`, { text: 'keep it short' });
    assert.deepEqual(steered, {
      status: 200,
      body: { object: 'run.steer', run_id: runId, status: 'waiting_for_approval' },
    });
    const unknown = await api(b, 'POST', `/v1/runs/${runId}/approval`, {
      request_id: 'nope',
      decision: 'once',
    });
    assert.equal(unknown.status, 409);
    assert.equal(unknown.body.error.code, 'approval_not_pending');

    const answered = await api(b, 'POST', `/v1/runs/${runId}/approval`, {
      request_id: requestId,
      decision: 'once',
    });
    assert.equal(answered.status, 200, JSON.stringify(answered.body));
    const restOfRun = await readRunEvents(b.url, runId, { key, lastEventId: upToRequest.at(-1)!.id });
    assert.deepEqual(
      [...new Set(restOfRun.map((e) => e.event))],
      ['approval.resolved', 'tool.completed', 'message.delta', 'run.completed'],
    );
    const sent = upstream.requests.at(-1)!.body.messages as { role: string; content: unknown }[];
    assert.ok(JSON.stringify(sent).includes('keep it short'), 'the guidance reached the run on A');
    const again = await api(b, 'POST', `/v1/runs/${runId}/approval`, {
      request_id: requestId,
      decision: 'once',
    });
    assert.equal(again.status, 409);
  });
});
