/**
 * A response whose process died mid-run (kill -9) does not stay `in_progress` for ever: the next
 * `herald serve` on the same HERALD_HOME marks it `incomplete` (reason `interrupted`) at start, with the
 * partial output checkpointed while it ran; cancel
 * answers 409 since nothing runs it; chaining onto a response still running is a 409 too, while cancel
 * of a running one still works.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import OpenAI, { APIError } from 'openai';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

const herald = new URL('../bin/herald.js', import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), 'herald-interrupted-'));
const upstream = await ScriptedUpstream.start({ responder: () => ({ hang: true }) });
/** Streams its first words, then stalls for far longer than any test runs. */
const stallAfterFirstWords = { text: ['The first words', ' never arrive'], stallAfterChunks: 2 };
const children = new Set<ChildProcess>();
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await upstream.close();
  rmSync(home, { recursive: true, force: true });
});

/** `herald serve` in a child process; resolves with its URL once it listens. */
function serve(): Promise<{ child: ChildProcess; client: OpenAI; exited: Promise<unknown> }> {
  const child = spawn(process.execPath, [herald, 'serve'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: home,
      HERALD_HOME: home,
      HERALD_BASE_URL: upstream.url,
      HERALD_API_KEY: 'upstream-key',
      HERALD_MODEL: 'scripted-model',
      API_SERVER_PORT: '0',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  const exited = new Promise((resolve) => child.once('exit', resolve)).then(() => children.delete(child));
  return new Promise((resolve, reject) => {
    let stderr = '';
    // Hang guard only.
    const guard = setTimeout(() => reject(new Error(`herald serve did not start: ${stderr}`)), 20_000);
    child.stderr!.on('data', (part: Buffer) => {
      stderr += part.toString();
      const url = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
      if (url) {
        clearTimeout(guard);
        resolve({
          child,
          exited,
          client: new OpenAI({ baseURL: url, apiKey: 'x', maxRetries: 0, timeout: 20_000 }),
        });
      }
    });
    child.once('exit', () => reject(new Error(`herald serve exited: ${stderr}`)));
  });
}

/** Starts a streamed response the upstream never answers; resolves with its id once the run is underway. */
async function startHangingResponse(client: OpenAI): Promise<string> {
  const seen = upstream.requests.length;
  const stream = await client.responses.create({ model: 'herald', input: 'a long task', stream: true });
  const iterator = stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  assert.equal(first.value?.type, 'response.created');
  await upstream.waitForRequests(seen + 1);
  // Leave the stream open: the run must still be going.
  return (first.value as { response: { id: string } }).response.id;
}

async function failure(call: Promise<unknown>): Promise<APIError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof APIError) return error;
    throw error;
  }
  assert.fail('expected the call to fail');
}

test('a response cut by kill -9 is incomplete/interrupted after restart, and not cancellable', {
  timeout: 60_000,
}, async () => {
  const one = await serve();
  upstream.enqueue(stallAfterFirstWords);
  const id = await startHangingResponse(one.client);
  // The partial output is checkpointed while the run goes on.
  for (;;) {
    const running = await one.client.responses.retrieve(id);
    assert.equal(running.status, 'in_progress');
    if (running.output_text === 'The first words') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  one.child.kill('SIGKILL');
  await one.exited;

  const two = await serve();
  try {
    const after = await two.client.responses.retrieve(id);
    assert.equal(after.status, 'incomplete');
    assert.deepEqual(after.incomplete_details, { reason: 'interrupted' });
    assert.equal(after.output_text, 'The first words');
    assert.equal((after.output[0] as { status?: string } | undefined)?.status, 'incomplete');

    const cancel = await failure(two.client.responses.cancel(id));
    assert.equal(cancel.status, 409);
    assert.equal(cancel.code, 'response_not_cancellable');
    assert.match(cancel.message, /incomplete/);
    assert.equal((await two.client.responses.retrieve(id)).status, 'incomplete');

    // A response that is running right now: chaining onto it is a 409, cancelling it works.
    const running = await startHangingResponse(two.client);
    const chain = await failure(
      two.client.responses.create({ model: 'herald', input: 'and then?', previous_response_id: running }),
    );
    assert.equal(chain.status, 409);
    assert.equal(chain.code, 'previous_response_not_finished');
    assert.equal((await two.client.responses.cancel(running)).status, 'cancelled');
    const cancelAgain = await failure(two.client.responses.cancel(running));
    assert.equal(cancelAgain.status, 409);
    assert.match(cancelAgain.message, /cancelled/);
  } finally {
    two.child.kill('SIGTERM');
    await two.exited;
  }
});
