/**
 * The run lifecycle through the API server: a client that goes away (Stop button) cancels the upstream
 * request, streamed or not; a graceful shutdown lets a running stream finish within the grace period and
 * aborts it (with an error frame) past it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSse, startTestServer } from './api-test-server.ts';

const user = (content: string) => ({ role: 'user' as const, content });

async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('client disconnect', () => {
  test('breaking out of a stream aborts the upstream request', async (t) => {
    const h = await startTestServer();
    t.after(() => h.close());
    h.upstream.enqueue({ text: 'a'.repeat(400), chunkDelayMs: 50 });
    const stream = await h.client.chat.completions.create({
      model: 'herald',
      stream: true,
      messages: [user('hi')],
    });
    let chunks = 0;
    for await (const _ of stream) {
      if (++chunks === 3) break;
    }
    await waitFor(() => h.upstream.aborted === 1, 'the upstream abort');
    await waitFor(() => h.server.activeRuns === 0, 'the run to end');
  });

  test('aborting a non-streamed request aborts the upstream request', async (t) => {
    const h = await startTestServer();
    t.after(() => h.close());
    h.upstream.enqueue({ hang: true });
    const controller = new AbortController();
    const pending = h.client.chat.completions.create(
      { model: 'herald', messages: [user('hi')] },
      { signal: controller.signal },
    );
    await h.upstream.waitForRequests(1);
    controller.abort();
    await assert.rejects(pending);
    await waitFor(() => h.upstream.aborted === 1, 'the upstream abort');
    await waitFor(() => h.server.activeRuns === 0, 'the run to end');
  });
});

describe('graceful shutdown', () => {
  test('a running stream finishes within the grace period', async (t) => {
    const h = await startTestServer({ apiServer: { shutdown_grace_s: 5 } });
    t.after(() => h.close());
    h.upstream.enqueue({ text: 'finishing during shutdown', chunkDelayMs: 40 });
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'herald', stream: true, messages: [user('hi')] }),
    });
    await h.upstream.waitForRequests(1);
    const stopping = h.server.stop();
    const frames = parseSse(await res.text());
    await stopping;
    assert.equal(frames.at(-1)?.data, '[DONE]');
    const text = frames
      .slice(0, -1)
      .map((f) => JSON.parse(f.data).choices[0]?.delta.content ?? '')
      .join('');
    assert.equal(text, 'finishing during shutdown');
    assert.equal(h.upstream.aborted, 0);
    await assert.rejects(fetch(`${h.url}/health`), 'no new connections after stop');
  });

  test('past the grace period the run is aborted and the stream ends with an error frame', async (t) => {
    const h = await startTestServer({ apiServer: { shutdown_grace_s: 0 } });
    t.after(() => h.close());
    h.upstream.enqueue({ text: 'x'.repeat(200), chunkDelayMs: 100 });
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'herald', stream: true, messages: [user('hi')] }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    await h.server.stop();
    let body = '';
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      body += decoder.decode(value);
    }
    const frames = parseSse(body);
    assert.equal(frames.at(-1)?.data, '[DONE]');
    assert.ok(JSON.parse(frames.at(-2)!.data).error, 'an error frame before [DONE]');
    await waitFor(() => h.upstream.aborted === 1, 'the upstream abort');
  });
});
