/**
 * The API server's access rules end to end: bearer auth with several keys, the public /health, CORS
 * preflights for browser clients, and the keyless loopback guard (Host header, cross-site Origin), plus
 * the refusal to bind beyond loopback without a key.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import OpenAI, { type APIError } from 'openai';
import { isLoopbackHost, UnsafeBindError } from '../src/gateway/platforms/api-server/index.ts';
import { createLogger } from '../src/logger.ts';
import { startTestServer, type TestServer } from './api-test-server.ts';

const user = (content: string) => ({ role: 'user' as const, content });

/** A raw request, because fetch does not let a caller set the Host header. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', headers }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('with API keys', () => {
  let h: TestServer;
  before(async () => {
    h = await startTestServer({ apiServer: { keys: ['key-one', 'key-two'] } });
  });
  after(() => h.close());

  test('a request without a key or with a wrong key is a 401 invalid_api_key', async () => {
    const missing = await fetch(`${h.url}/v1/models`);
    assert.equal(missing.status, 401);
    const body = (await missing.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'invalid_api_key');
    const wrong = new OpenAI({ baseURL: h.baseURL, apiKey: 'key-three', maxRetries: 0 });
    await assert.rejects(
      wrong.models.list(),
      (error: APIError) => error.status === 401 && error.code === 'invalid_api_key',
    );
    const wrongBody = await (
      await fetch(`${h.url}/v1/models`, { headers: { authorization: 'Bearer key-on' } })
    ).text();
    assert.doesNotMatch(wrongBody, /key-on|key-one/, 'keys never appear in errors');
    assert.equal(h.upstream.requests.length, 0);
  });

  test('every configured key works', async () => {
    for (const apiKey of ['key-one', 'key-two']) {
      const client = new OpenAI({ baseURL: h.baseURL, apiKey, maxRetries: 0 });
      h.upstream.enqueue({ text: `hello ${apiKey}` });
      const data = await client.chat.completions.create({ model: 'herald', messages: [user('hi')] });
      assert.equal(data.choices[0]?.message.content, `hello ${apiKey}`);
    }
  });

  test('/health needs no key', async () => {
    const res = await fetch(`${h.url}/health`);
    assert.equal(res.status, 200);
  });

  test('a CORS preflight is answered without a key and lists Authorization and the SDK headers', async () => {
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://chat.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,x-stainless-os',
      },
    });
    assert.ok(res.status === 204 || res.status === 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const header of [
      'authorization',
      'content-type',
      'x-stainless-os',
      'x-stainless-retry-count',
      'x-stainless-helper-method',
      'openai-organization',
      'idempotency-key',
      'x-herald-session-id',
    ]) {
      assert.ok(allowed.includes(header), `${header} allowed`);
    }
    const methods = res.headers.get('access-control-allow-methods') ?? '';
    for (const m of ['GET', 'POST', 'DELETE', 'OPTIONS']) assert.ok(methods.includes(m));
  });

  test('browser responses expose x-request-id and the session header', async () => {
    h.upstream.enqueue({ text: 'cors' });
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer key-one',
        origin: 'https://a.example',
      },
      body: JSON.stringify({ model: 'herald', messages: [user('hi')] }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase();
    assert.ok(exposed.includes('x-request-id') && exposed.includes('x-herald-session-id'));
  });
});

describe('without API keys (loopback only)', () => {
  let h: TestServer;
  before(async () => {
    h = await startTestServer();
  });
  after(() => h.close());

  test('loopback Host headers are accepted: localhost, 127.x, [::1], any port', async () => {
    const port = new URL(h.url).port;
    for (const host of [
      `localhost:${port}`,
      `127.0.0.1:${port}`,
      '127.1.2.3',
      `[::1]:${port}`,
      'localhost',
    ]) {
      const res = await rawGet(`${h.url}/v1/models`, { host });
      assert.equal(res.status, 200, host);
    }
  });

  test('a frontend on this machine gets CORS headers; another site gets none', async () => {
    const preflight = (origin: string) =>
      fetch(`${h.url}/v1/chat/completions`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-stainless-os',
        },
      });
    const local = await preflight('http://localhost:3210');
    assert.equal(local.headers.get('access-control-allow-origin'), 'http://localhost:3210');
    assert.ok(
      (local.headers.get('access-control-allow-headers') ?? '').toLowerCase().includes('x-stainless-os'),
    );
    const foreign = await preflight('https://evil.example.com');
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
  });

  test('a foreign Host header (DNS rebinding) is refused with 403', async () => {
    for (const host of [
      'evil.example.com',
      'evil.example.com:8642',
      '192.168.1.5:8642',
      'localhost.evil.com',
    ]) {
      const res = await rawGet(`${h.url}/v1/models`, { host });
      assert.equal(res.status, 403, host);
      assert.equal(JSON.parse(res.body).error.code, 'forbidden');
    }
  });

  test('a cross-site browser Origin is refused; a loopback Origin is fine', async () => {
    const evil = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ model: 'herald', messages: [user('rm -rf')] }),
    });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    const local = await fetch(`${h.url}/v1/models`, { headers: { origin: 'http://localhost:3000' } });
    assert.equal(local.status, 200);
    assert.equal(h.upstream.requests.length, 0);
  });
});

describe('binding', () => {
  test('start() refuses a non-loopback bind without a key', async () => {
    await assert.rejects(startTestServer({ apiServer: { host: '0.0.0.0' } }), UnsafeBindError);
  });

  test('allow_unauthenticated permits it', async (t) => {
    const h = await startTestServer({ apiServer: { host: '0.0.0.0', allow_unauthenticated: true } });
    t.after(() => h.close());
    const res = await fetch(`http://127.0.0.1:${new URL(h.url).port}/health`);
    assert.equal(res.status, 200);
    const foreignHost = await rawGet(`http://127.0.0.1:${new URL(h.url).port}/v1/models`, {
      host: 'herald.lan:8642',
    });
    assert.equal(foreignHost.status, 200);
  });

  test('allow_unauthenticated on a loopback bind keeps the DNS-rebinding guard', async (t) => {
    const h = await startTestServer({ apiServer: { allow_unauthenticated: true } });
    t.after(() => h.close());
    const res = await rawGet(`${h.url}/v1/models`, { host: 'evil.example.com' });
    assert.equal(res.status, 403);
  });

  test('isLoopbackHost recognises loopback names only', () => {
    for (const host of [
      'localhost',
      'LOCALHOST:1',
      '127.0.0.1',
      '127.255.0.1:80',
      '[::1]',
      '[::1]:8642',
      'a.localhost',
    ]) {
      assert.equal(isLoopbackHost(host), true, host);
    }
    for (const host of ['', 'example.com', '10.0.0.1', '[::2]', '[::1]x', 'localhost.example', '0.0.0.0']) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });
});

describe('request logging', () => {
  test('one structured line per request with id, route, status, duration and tokens; no keys or content', async (t) => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
        done();
      },
    });
    const h = await startTestServer({
      apiServer: { keys: ['super-secret-key'] },
      logger: createLogger('info', sink),
    });
    t.after(() => h.close());
    h.upstream.enqueue({ text: 'private answer', usage: { prompt_tokens: 5, completion_tokens: 2 } });
    await h.client.chat.completions.create(
      { model: 'herald', messages: [user('private question')] },
      { headers: { 'x-request-id': 'log-test-1' } },
    );
    await fetch(`${h.url}/v1/models`);
    await new Promise((r) => setTimeout(r, 50));
    const requests = lines.filter((l) => l['event'] === 'api.request');
    assert.equal(requests.length, 2);
    const chatLine = requests.find((l) => l['requestId'] === 'log-test-1')!;
    assert.equal(chatLine['route'], '/v1/chat/completions');
    assert.equal(chatLine['status'], 200);
    assert.equal(typeof chatLine['durationMs'], 'number');
    assert.equal(chatLine['totalTokens'], 7);
    assert.equal(requests.find((l) => l['requestId'] !== 'log-test-1')!['status'], 401);
    const all = JSON.stringify(lines);
    assert.doesNotMatch(all, /super-secret-key|private question|private answer/);
  });

  test('Responses requests, streamed and not, log their token counts too', async (t) => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
        done();
      },
    });
    const h = await startTestServer({ logger: createLogger('info', sink) });
    t.after(() => h.close());
    h.upstream.enqueue({ text: 'plain answer', usage: { prompt_tokens: 11, completion_tokens: 3 } });
    await h.client.responses.create(
      { model: 'herald', input: 'private question' },
      { headers: { 'x-request-id': 'log-responses-1' } },
    );
    h.upstream.enqueue({ text: 'streamed answer', usage: { prompt_tokens: 13, completion_tokens: 4 } });
    const stream = await h.client.responses.create(
      { model: 'herald', input: 'another question', stream: true },
      { headers: { 'x-request-id': 'log-responses-2' } },
    );
    for await (const _event of stream) {
      // Drain the stream to its end.
    }
    await new Promise((r) => setTimeout(r, 50));
    const byId = (id: string) =>
      lines.find((l) => l['event'] === 'api.request' && l['requestId'] === id) ?? {};
    const plain = byId('log-responses-1');
    assert.equal(plain['route'], '/v1/responses');
    assert.equal(plain['status'], 200);
    assert.deepEqual([plain['promptTokens'], plain['completionTokens'], plain['totalTokens']], [11, 3, 14]);
    const streamed = byId('log-responses-2');
    assert.equal(streamed['route'], '/v1/responses');
    assert.equal(streamed['status'], 200);
    assert.deepEqual(
      [streamed['promptTokens'], streamed['completionTokens'], streamed['totalTokens']],
      [13, 4, 17],
    );
    assert.doesNotMatch(JSON.stringify(lines), /private question|plain answer|streamed answer/);
  });
});
