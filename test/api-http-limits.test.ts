/**
 * The API server's HTTP layer under faults and attack, end to end on a real socket: request and header
 * timeouts (408), oversize headers (431), connections of unauthenticated requests closed after the 401,
 * JSON nesting/size limits (400 naming the limit), a full disk (507 storage_full, then recovery), the
 * wrong-key throttle (429 + Retry-After per address) and the bounded run queue (a burst of 3 × the
 * concurrency limit: max run, max wait, the rest 429; /health counts both).
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { responseEvents, startTestServer, type TestServer } from './api-test-server.ts';

const user = (content: string) => ({ role: 'user' as const, content });

interface RawExchange {
  /** Everything the server sent before it closed the connection. */
  text: string;
  status: number;
  /** The OpenAI error body, when the answer has one. */
  error: { message: string; type: string; param: unknown; code: string } | undefined;
  /** True when the server closed the connection while the client was still sending. */
  closedWhileSending: boolean;
}

/**
 * Writes `head` on a raw socket, then (optionally) one byte of `dribble` every 100 ms, and collects the
 * answer until the server closes the connection (a hang guard fails the test after `guardMs`).
 */
function rawExchange(url: string, head: string, dribble = '', guardMs = 8_000): Promise<RawExchange> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    let sent = 0;
    const ticker = setInterval(() => {
      if (sent < dribble.length && socket.writable) socket.write(dribble[sent++]!);
    }, 100);
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${guardMs} ms`));
    }, guardMs);
    socket.on('data', (chunk) => {
      text += chunk;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(ticker);
      clearTimeout(guard);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      let error: RawExchange['error'];
      try {
        error = (JSON.parse(body) as { error: RawExchange['error'] }).error;
      } catch {
        error = undefined;
      }
      resolve({ text, status, error, closedWhileSending: sent < dribble.length });
    });
    socket.write(head);
  });
}

function assertErrorShape(error: RawExchange['error'] | Record<string, unknown> | undefined): void {
  assert.ok(error, 'an OpenAI-shaped error body');
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'param', 'type']);
}

const postHead = (path: string, contentLength: number, extra = '') =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n${extra}\r\n`;

describe('timeouts and connection handling', () => {
  let h: TestServer;
  before(async () => {
    h = await startTestServer({
      apiServer: { keys: ['right-key'], headers_timeout_s: 1, body_timeout_s: 2 },
    });
  });
  after(() => h.close());

  test('an unauthenticated request is answered 401 and its connection closed while its body still dribbles', async (t) => {
    // A long body timeout, so only the 401's `Connection: close` can end this connection in time.
    const slow = await startTestServer({ apiServer: { keys: ['right-key'], body_timeout_s: 60 } });
    t.after(() => slow.close());
    const body = JSON.stringify({ model: 'herald', messages: [user('hello there')] });
    const answer = await rawExchange(slow.url, postHead('/v1/chat/completions', body.length), body, 4_000);
    assert.equal(answer.status, 401);
    assert.match(answer.text, /connection: close/i);
    assertErrorShape(answer.error);
    assert.equal(answer.error?.code, 'invalid_api_key');
    assert.ok(answer.closedWhileSending, 'closed without waiting for the body');
  });

  test('a body not sent within body_timeout_s is a 408 request_timeout in the OpenAI shape', async () => {
    const body = JSON.stringify({ model: 'herald', messages: [user('hello')] });
    const head = postHead('/v1/chat/completions', body.length + 100, 'Authorization: Bearer right-key\r\n');
    const answer = await rawExchange(h.url, head + body);
    assert.equal(answer.status, 408);
    assertErrorShape(answer.error);
    assert.equal(answer.error?.code, 'request_timeout');
    assert.equal(answer.error?.type, 'invalid_request_error');
  });

  test('headers not finished within headers_timeout_s are a 408 too', async () => {
    const answer = await rawExchange(h.url, 'GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    assert.equal(answer.status, 408);
    assert.equal(answer.error?.code, 'request_timeout');
  });

  test('oversize headers are a 431 in the OpenAI shape', async () => {
    const answer = await rawExchange(
      h.url,
      `GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    assert.equal(answer.status, 431);
    assertErrorShape(answer.error);
    assert.equal(answer.error?.code, 'request_headers_too_large');
  });

  test('the server still answers normally afterwards', async () => {
    const reply = await h.client.chat.completions.create({ model: 'herald', messages: [user('hi')] });
    assert.equal(reply.choices[0]?.message.content, 'ok');
  });
});

describe('JSON limits', () => {
  let h: TestServer;
  before(async () => {
    h = await startTestServer({ apiServer: { max_json_array_items: 100, max_json_string_chars: 1_000 } });
  });
  after(() => h.close());

  const post = async (path: string, body: string) => {
    const res = await fetch(`${h.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, body: (await res.json()) as { error: Record<string, unknown> } };
  };
  const deep = `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`;

  for (const stream of [false, true]) {
    test(`5,000 levels of nesting in Responses tools or text${stream ? ', streamed,' : ''} are a 400 json_too_deep`, async () => {
      for (const field of ['tools', 'text']) {
        const value = field === 'tools' ? `[${deep}]` : deep;
        const { status, body } = await post(
          '/v1/responses',
          `{"model":"herald","input":"hi","stream":${stream},"${field}":${value}}`,
        );
        assert.equal(status, 400);
        assertErrorShape(body.error);
        assert.equal(body.error.code, 'json_too_deep');
        assert.equal(body.error.param, null);
        assert.match(String(body.error.message), /max_json_depth/);
      }
    });
  }

  test('an array or a string over its limit is a 400 naming the limit', async () => {
    const messages = Array.from({ length: 101 }, () => user('x'));
    const long = await post('/v1/chat/completions', JSON.stringify({ model: 'herald', messages }));
    assert.equal(long.status, 400);
    assert.equal(long.body.error.code, 'json_array_too_long');
    const big = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'herald', messages: [user('x'.repeat(1_001))] }),
    );
    assert.equal(big.status, 400);
    assert.equal(big.body.error.code, 'json_string_too_long');
  });
});

describe('a full disk', () => {
  let h: TestServer;
  before(async () => {
    h = await startTestServer();
  });
  after(() => h.close());

  /** SQLite's own way to be "full": no page may be added past this count (SQLITE_FULL, as on ENOSPC). */
  const setDiskFull = (full: boolean) => {
    const { page_count } = h.db.prepare('PRAGMA page_count').get() as { page_count: number };
    h.db.exec(`PRAGMA max_page_count = ${full ? page_count : 1_000_000_000}`);
  };
  const big = 'x'.repeat(50_000);
  const request = (path: string, body: unknown) =>
    fetch(`${h.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  test('is a 507 storage_full saying to free disk space, and the server recovers once there is room', async () => {
    setDiskFull(true);
    for (const [path, body] of [
      ['/v1/responses', { model: 'herald', input: big }],
      ['/v1/chat/completions', { model: 'herald', messages: [user(big)] }],
    ] as const) {
      const res = await request(path, body);
      assert.equal(res.status, 507, path);
      const { error } = (await res.json()) as { error: Record<string, unknown> };
      assertErrorShape(error);
      assert.equal(error.code, 'storage_full');
      assert.equal(error.type, 'server_error');
      assert.match(String(error.message), /free disk space.*HERALD_HOME/i);
    }
    const streamed = await request('/v1/responses', { model: 'herald', input: big, stream: true });
    const last = responseEvents(await streamed.text()).at(-1) as {
      type: string;
      response: { error: { code: string } };
    };
    assert.equal(last.type, 'response.failed');
    assert.equal(last.response.error.code, 'storage_full');
    assert.equal((await fetch(`${h.url}/health`)).status, 200);

    setDiskFull(false);
    const again = await h.client.responses.create({ model: 'herald', input: big });
    assert.equal(again.status, 'completed');
    const chat = await h.client.chat.completions.create({ model: 'herald', messages: [user(big)] });
    assert.equal(chat.choices[0]?.message.content, 'ok');
  });
});

describe('wrong-key throttle', () => {
  test('an address past auth_failures.max wrong keys gets 429 with Retry-After, right key or not', async (t) => {
    const h = await startTestServer({
      apiServer: { keys: ['right-key'], auth_failures: { max: 5, window_s: 60 } },
    });
    t.after(() => h.close());
    const models = (key: string) =>
      fetch(`${h.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal((await models('right-key')).status, 200);
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) statuses.push((await models(`guess-${i}`)).status);
    assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
    assert.ok(
      statuses.slice(5).every((s) => s === 429),
      'every guess past the fifth is throttled',
    );
    const throttled = await models('right-key');
    assert.equal(throttled.status, 429, 'a blocked address cannot tell a right key from a wrong one');
    assert.ok(Number(throttled.headers.get('retry-after')) >= 1);
    assert.match(throttled.headers.get('connection') ?? '', /close/);
    const { error } = (await throttled.json()) as { error: Record<string, unknown> };
    assertErrorShape(error);
    assert.equal(error.code, 'too_many_auth_failures');
    assert.equal(error.type, 'rate_limit_error');
    assert.equal((await fetch(`${h.url}/health`)).status, 200, '/health stays open');
  });

  test('WebSocket upgrades share the budget: wrong keys there count, and a blocked address is refused', async (t) => {
    const h = await startTestServer({
      apiServer: { keys: ['right-key'], auth_failures: { max: 3, window_s: 60 } },
    });
    t.after(() => h.close());
    const upgrade = (key: string) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${h.url.replace('http', 'ws')}/v1/responses`, {
          headers: { authorization: `Bearer ${key}` },
        });
        ws.once('open', () => {
          ws.close();
          resolve(101);
        });
        ws.once('unexpected-response', (_req, res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        ws.once('error', reject);
      });
    assert.equal(await upgrade('right-key'), 101);
    assert.deepEqual([await upgrade('a'), await upgrade('b'), await upgrade('c')], [401, 401, 401]);
    assert.equal(await upgrade('d'), 429, 'guessing over WebSocket is throttled too');
    assert.equal(await upgrade('right-key'), 429);
    const http = await fetch(`${h.url}/v1/models`, { headers: { authorization: 'Bearer right-key' } });
    assert.equal(http.status, 429, 'the same address is blocked on HTTP as well');
  });

  test('exempt_loopback leaves loopback clients unthrottled', async (t) => {
    const h = await startTestServer({
      apiServer: { keys: ['right-key'], auth_failures: { max: 2, window_s: 60, exempt_loopback: true } },
    });
    t.after(() => h.close());
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${h.url}/v1/models`, { headers: { authorization: 'Bearer wrong' } });
      assert.equal(res.status, 401);
    }
    const ok = await fetch(`${h.url}/v1/models`, { headers: { authorization: 'Bearer right-key' } });
    assert.equal(ok.status, 200);
  });
});

describe('bounded run queue', () => {
  test('a burst of 3 × max_concurrent_runs: max run, max wait and are served, the rest get 429 at once', async (t) => {
    const max = 4;
    const h = await startTestServer({
      apiServer: { max_concurrent_runs: max, max_queued_runs: max, queue_timeout_s: 20 },
    });
    t.after(() => h.close());
    for (let i = 0; i < 2 * max; i++) h.upstream.enqueue({ text: 'slow', delayMs: 300 });
    const started = Date.now();
    const burst = Array.from({ length: 3 * max }, async (_, i) => {
      const stream = i % 2 === 1;
      const res = await fetch(`${h.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'herald', messages: [user(`burst ${i}`)], stream }),
      });
      const text = await res.text();
      return {
        status: res.status,
        text,
        retryAfter: res.headers.get('retry-after'),
        ms: Date.now() - started,
      };
    });
    // While the first runs hold their slots, /health reports them and the waiters.
    await h.upstream.waitForRequests(max);
    const health = (await (await fetch(`${h.url}/health`)).json()) as {
      runs: { running: number; queued: number };
    };
    assert.deepEqual(health.runs, { running: max, queued: max });

    const results = await Promise.all(burst);
    const served = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    assert.equal(served.length, 2 * max, 'the running and the queued requests are served');
    assert.equal(refused.length, max);
    for (const r of refused) {
      assert.ok(Number(r.retryAfter) >= 1);
      assertErrorShape((JSON.parse(r.text) as { error: Record<string, unknown> }).error);
    }
    for (const r of served) assert.match(r.text, /slow/);
    const report = (list: typeof results) => list.map((r) => r.ms).sort((a, b) => a - b);
    t.diagnostic(
      `burst of ${3 * max} (max ${max} running, ${max} queued): served ${served.length} at ${report(served).join(',')} ms; refused ${refused.length} at ${report(refused).join(',')} ms`,
    );
    const after = (await (await fetch(`${h.url}/health`)).json()) as { runs: unknown };
    assert.deepEqual(after.runs, { running: 0, queued: 0 });
  });

  test('a client that leaves while queued drops out, and shutdown answers the queue 503', async (t) => {
    const h = await startTestServer({
      apiServer: { max_concurrent_runs: 1, max_queued_runs: 5, queue_timeout_s: 20 },
    });
    t.after(() => h.close());
    h.upstream.enqueue({ text: 'held', delayMs: 1_500 });
    const first = h.client.chat.completions.create({ model: 'herald', messages: [user('one')] });
    await h.upstream.waitForRequests(1);
    const leaving = new AbortController();
    const gone = fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'herald', messages: [user('two')] }),
      signal: leaving.signal,
    }).catch(() => undefined);
    const waiting = fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'herald', messages: [user('three')] }),
    });
    const health = async () =>
      ((await (await fetch(`${h.url}/health`)).json()) as { runs: { queued: number } }).runs.queued;
    while ((await health()) < 2) await new Promise((r) => setTimeout(r, 10));
    leaving.abort();
    await gone;
    while ((await health()) > 1) await new Promise((r) => setTimeout(r, 10));

    const stopping = h.server.stop();
    const refused = await waiting;
    assert.equal(refused.status, 503);
    const { error } = (await refused.json()) as { error: Record<string, unknown> };
    assert.equal(error.code, 'server_shutting_down');
    assert.equal((await first).choices[0]?.message.content, 'held', 'the running request still finishes');
    await stopping;
  });
});
