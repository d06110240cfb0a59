/**
 * The run lifecycle through the API server: a client that goes away (Stop button) cancels the upstream
 * request, streamed or not; a graceful shutdown lets a running stream finish within the grace period and
 * aborts it past it — with a `server_shutting_down` error (the server cut it, not the client) — and
 * answers requests that still arrive while closing with an OpenAI-shaped 503.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
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

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Splits what the server wrote on one connection into HTTP/1.1 responses (Content-Length bodies only). */
function parseResponses(raw: Buffer): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = raw;
  while (rest.length > 0) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) break;
    const [statusLine = '', ...lines] = rest.subarray(0, headEnd).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const body = rest.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8');
    responses.push({ status: Number(statusLine.split(' ')[1]), headers, body });
    rest = rest.subarray(headEnd + 4 + length);
  }
  return responses;
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
    const { error } = JSON.parse(frames.at(-2)!.data);
    assert.ok(error, 'an error frame before [DONE]');
    // The server cut the run, the client did not cancel it: not 499 `cancelled`.
    assert.equal(error.code, 'server_shutting_down');
    assert.equal(error.type, 'service_unavailable');
    assert.equal(typeof error.message, 'string');
    await waitFor(() => h.upstream.aborted === 1, 'the upstream abort');
  });

  test('a request arriving while closing gets an OpenAI-shaped 503, and a cut non-streamed run is a 503', async (t) => {
    const h = await startTestServer({ apiServer: { shutdown_grace_s: 1 } });
    t.after(() => h.close());
    h.upstream.enqueue({ hang: true });
    // One raw connection: the first request keeps it busy (so closing does not drop it), the second is
    // pipelined behind it after shutdown has begun, the way a keep-alive client sends its next request.
    const { port } = new URL(h.url);
    const socket = connect(Number(port), '127.0.0.1');
    t.after(() => socket.destroy());
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const ended = new Promise((resolve) => socket.once('close', resolve));
    const body = JSON.stringify({ model: 'herald', messages: [user('hi')] });
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await h.upstream.waitForRequests(1);
    const stopping = h.server.stop();
    // Fastify stops listening right after its preClose hooks ran: from here on the server is closing.
    await waitFor(() => !h.server.app.server.listening, 'the listener to close');
    socket.write('GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: late-request\r\n\r\n');
    await stopping;
    await ended;

    const [cut, late] = parseResponses(Buffer.concat(received));
    assert.equal(cut?.status, 503);
    assert.deepEqual(JSON.parse(cut!.body).error, {
      message: 'The server is shutting down; the run was stopped before it finished.',
      type: 'service_unavailable',
      param: null,
      code: 'server_shutting_down',
    });
    assert.equal(late?.status, 503);
    assert.equal(late!.headers['x-request-id'], 'late-request');
    assert.equal(late!.headers['connection'], 'close');
    assert.match(late!.headers['content-type'] ?? '', /application\/json/);
    assert.deepEqual(JSON.parse(late!.body).error, {
      message: 'The server is shutting down.',
      type: 'service_unavailable',
      param: null,
      code: 'server_shutting_down',
    });
    await waitFor(() => h.upstream.aborted === 1, 'the upstream abort');
  });
});
