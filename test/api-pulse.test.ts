/**
 * The operator's view of a running server, end to end: `/metrics` after known traffic (chat
 * completions streamed and not, a Responses call, a hosted tool call, an upstream error), its access
 * settings, `/health/ready` transitions (store closed; upstream required and failing), and
 * `/status.json` and the `/status` page with and without a key.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from './api-test-server.ts';

const user = (content: string) => ({ role: 'user' as const, content });

/** The value of one sample in a Prometheus text exposition; undefined when there is no such line. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = (match[2] ?? '').split(',').filter(Boolean);
    if (wanted.every((label) => present.includes(label)) && present.length === wanted.length) {
      return Number(match[3]);
    }
  }
  return undefined;
}

describe('GET /metrics after known traffic', () => {
  let h: TestServer;
  let text: string;
  let contentType: string | null;
  before(async () => {
    h = await startTestServer();
    h.upstream.enqueue(
      { text: 'plain answer', usage: { prompt_tokens: 10, completion_tokens: 2 } },
      { text: 'streamed answer', usage: { prompt_tokens: 20, completion_tokens: 3 } },
      { text: 'responses answer', usage: { prompt_tokens: 30, completion_tokens: 4 } },
      { toolCalls: [{ name: 'terminal', arguments: { command: 'echo metrics' } }] },
      { text: 'after the tool' },
      { status: 500 },
    );
    await h.client.chat.completions.create({ model: 'herald', messages: [user('one')] });
    const stream = await h.client.chat.completions.create({
      model: 'herald',
      messages: [user('two')],
      stream: true,
    });
    for await (const _chunk of stream);
    await h.client.responses.create({ model: 'herald', input: 'three' });
    await h.client.chat.completions.create({ model: 'herald', messages: [user('four')] });
    await assert.rejects(h.client.chat.completions.create({ model: 'herald', messages: [user('five')] }));
    const res = await fetch(`${h.url}/metrics`);
    assert.equal(res.status, 200);
    contentType = res.headers.get('content-type');
    text = await res.text();
  });
  after(() => h.close());

  test('is Prometheus text with HELP and TYPE lines', () => {
    assert.match(contentType ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(text, /^# HELP herald_http_requests_total /m);
    assert.match(text, /^# TYPE herald_http_requests_total counter$/m);
    assert.match(text, /^# TYPE herald_run_first_token_seconds histogram$/m);
  });

  test('counts requests by method, route and status', () => {
    const chat = { method: 'POST', route: '/v1/chat/completions' };
    assert.equal(sample(text, 'herald_http_requests_total', { ...chat, status: '200' }), 3);
    assert.equal(sample(text, 'herald_http_requests_total', { ...chat, status: '502' }), 1);
    assert.equal(
      sample(text, 'herald_http_requests_total', { method: 'POST', route: '/v1/responses', status: '200' }),
      1,
    );
    assert.equal(
      sample(text, 'herald_http_request_duration_seconds_count', { method: 'POST', route: '/v1/responses' }),
      1,
    );
  });

  test('records time to first token and run durations by outcome', () => {
    assert.equal(sample(text, 'herald_run_first_token_seconds_count', { platform: 'api' }), 4);
    assert.equal(sample(text, 'herald_run_duration_seconds_count', { platform: 'api', outcome: 'done' }), 4);
    assert.equal(sample(text, 'herald_run_duration_seconds_count', { platform: 'api', outcome: 'error' }), 1);
    assert.equal(sample(text, 'herald_runs_in_flight', { platform: 'api' }), 0);
    assert.equal(sample(text, 'herald_runs_queued', { platform: 'api' }), 0);
    assert.equal(
      sample(text, 'herald_tokens_total', { platform: 'api', kind: 'prompt' }) !== undefined,
      true,
    );
    assert.ok((sample(text, 'herald_tokens_total', { platform: 'api', kind: 'completion' }) ?? 0) >= 9);
  });

  test('counts tool calls by tool and outcome', () => {
    assert.equal(sample(text, 'herald_tool_calls_total', { tool: 'terminal', outcome: 'ok' }), 1);
  });

  test('records upstream latency and errors by code', () => {
    assert.equal(sample(text, 'herald_upstream_latency_seconds_count', { outcome: 'ok' }), 5);
    assert.equal(sample(text, 'herald_upstream_latency_seconds_count', { outcome: 'error' }), 1);
    assert.equal(sample(text, 'herald_upstream_errors_total', { code: 'upstream_unavailable' }), 1);
  });

  test('includes event-loop lag and heap from the process', () => {
    assert.notEqual(sample(text, 'nodejs_eventloop_lag_seconds'), undefined);
    assert.ok((sample(text, 'nodejs_heap_size_used_bytes') ?? 0) > 0);
  });
});

describe('access to /metrics, /status and /health/ready on a keyed server', () => {
  let h: TestServer;
  before(async () => {
    h = await startTestServer({ apiServer: { keys: ['status-key'] } });
  });
  after(() => h.close());

  test('/metrics and /status.json need the key; /health/ready and the page do not', async () => {
    for (const path of ['/metrics', '/status.json']) {
      const res = await fetch(`${h.url}${path}`);
      assert.equal(res.status, 401, path);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'invalid_api_key');
      const keyed = await fetch(`${h.url}${path}`, { headers: { authorization: 'Bearer status-key' } });
      assert.equal(keyed.status, 200, path);
      await keyed.arrayBuffer();
    }
    const ready = await fetch(`${h.url}/health/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', version: '0.0.0-test' });
  });

  test('the status page is self-contained HTML that fetches status.json with the key', async () => {
    const res = await fetch(`${h.url}/status`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/);
    const html = await res.text();
    assert.match(html, /fetch\('status\.json'/);
    assert.match(html, /Authorization: 'Bearer '/);
    assert.doesNotMatch(html, /<script src=|<link /, 'no external resources');
  });

  test('status.json reports the model, upstream, runs, today and recent errors without bodies', async () => {
    h.upstream.enqueue({ text: 'a secret answer' }, { status: 500 });
    await h.client.chat.completions.create({ model: 'herald', messages: [user('a secret question')] });
    const failed = await h.client.chat.completions
      .create({ model: 'herald', messages: [user('another secret')] })
      .withResponse()
      .catch((error: { headers?: Headers }) => error);
    const failedId = (failed as { headers?: Headers }).headers?.get('x-request-id');
    assert.ok(failedId);
    const res = await fetch(`${h.url}/status.json`, { headers: { authorization: 'Bearer status-key' } });
    const raw = await res.text();
    for (const secret of ['secret', 'status-key', 'upstream-key'])
      assert.doesNotMatch(raw, new RegExp(secret));
    const status = JSON.parse(raw);
    assert.equal(status.object, 'herald.status');
    assert.equal(status.version, '0.0.0-test');
    assert.equal(typeof status.uptime_s, 'number');
    assert.deepEqual(
      { configured: status.model.configured, id: status.model.id, base_url: status.model.base_url },
      { configured: true, id: 'scripted-model', base_url: h.upstream.url },
    );
    assert.equal(status.model.upstream.state, 'failing');
    assert.equal(status.model.upstream.last_error_code, 'upstream_unavailable');
    assert.equal(typeof status.model.upstream.latency_ms, 'number');
    assert.deepEqual(status.runs, { in_flight: { api: 0 }, queued: { api: 0 } });
    assert.deepEqual(status.platforms, []);
    assert.equal(status.today.runs, 2);
    assert.ok(status.today.requests >= 2);
    const error = status.recent_errors.find((e: { request_id?: string }) => e.request_id === failedId);
    assert.deepEqual(error && { ...error, at: typeof error.at }, {
      at: 'string',
      code: 'upstream_unavailable',
      request_id: failedId,
      route: '/v1/chat/completions',
      status: 502,
    });
    assert.ok(status.store.database_bytes > 0);
    assert.equal(typeof status.store.wal_bytes, 'number');
  });
});

describe('metrics settings', () => {
  test('require_key: false lets a scraper in without the key', async () => {
    const h = await startTestServer({
      apiServer: { keys: ['k'], metrics: { enabled: true, require_key: false } },
    });
    try {
      assert.equal((await fetch(`${h.url}/metrics`)).status, 200);
      assert.equal((await fetch(`${h.url}/status.json`)).status, 401);
    } finally {
      await h.close();
    }
  });

  test('enabled: false removes /metrics', async () => {
    const h = await startTestServer({ apiServer: { metrics: { enabled: false, require_key: true } } });
    try {
      const res = await fetch(`${h.url}/metrics`);
      assert.equal(res.status, 404);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'unknown_url');
    } finally {
      await h.close();
    }
  });
});

describe('GET /health/ready', () => {
  test('answers 503 in the OpenAI error shape once the store is closed; /health stays ok', async () => {
    const h = await startTestServer();
    try {
      assert.equal((await fetch(`${h.url}/health/ready`)).status, 200);
      h.db.close();
      const res = await fetch(`${h.url}/health/ready`);
      assert.equal(res.status, 503);
      const body = (await res.json()) as { error: Record<string, unknown> };
      assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
      assert.equal(body.error['code'], 'not_ready');
      assert.match(String(body.error['message']), /store/);
      assert.equal((await fetch(`${h.url}/health`)).status, 200);
    } finally {
      await h.close();
    }
  });

  test('with ready_requires_upstream, a failing upstream makes it 503 until a call succeeds', async () => {
    const h = await startTestServer({ apiServer: { ready_requires_upstream: true } });
    try {
      assert.equal((await fetch(`${h.url}/health/ready`)).status, 200, 'no call yet: nothing to judge by');
      h.upstream.enqueue({ status: 503 });
      await assert.rejects(h.client.chat.completions.create({ model: 'herald', messages: [user('x')] }));
      const failing = await fetch(`${h.url}/health/ready`);
      assert.equal(failing.status, 503);
      const body = (await failing.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'not_ready');
      assert.match(body.error.message, /upstream_unavailable/);
      h.upstream.enqueue({ text: 'back' });
      await h.client.chat.completions.create({ model: 'herald', messages: [user('y')] });
      assert.equal((await fetch(`${h.url}/health/ready`)).status, 200);
    } finally {
      await h.close();
    }
  });

  test('without ready_requires_upstream, a failing upstream leaves it ready', async () => {
    const h = await startTestServer();
    try {
      h.upstream.enqueue({ status: 503 });
      await assert.rejects(h.client.chat.completions.create({ model: 'herald', messages: [user('x')] }));
      assert.equal((await fetch(`${h.url}/health/ready`)).status, 200);
    } finally {
      await h.close();
    }
  });
});
