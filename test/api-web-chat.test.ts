/**
 * The server side of the web chat, without a browser: the page and its files are served from the
 * manifest only (no path reaches another file), public but holding no data, with a CSP that pins the
 * import map; `api_server.web_chat: false` takes them away; the keyless Host/Origin guard stays strict;
 * and `GET /v1/conversations` lists the caller's own conversations.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { WEB_CHAT_FILES } from '../src/gateway/platforms/api-server/web-chat-routes.ts';
import { startTestServer, type TestServer } from './api-test-server.ts';

/** A GET with the path sent exactly as given (fetch would normalise `..` away). */
function rawGet(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('web chat files on a keyed server', () => {
  let h: TestServer;
  before(async () => {
    h = await startTestServer({ apiServer: { keys: ['sk-web-1', 'sk-web-2'] } });
  });
  after(() => h.close());

  test('serves every manifest file without a key, with its type, nosniff and an ETag', async () => {
    for (const [path, file] of Object.entries(WEB_CHAT_FILES)) {
      const res = await fetch(`${h.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), file.type, path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      const etag = res.headers.get('etag');
      const body = await res.text();
      assert.ok(etag && body.length > 0, path);
      // Source maps are not served, so nothing may point devtools at one.
      assert.doesNotMatch(body, /sourceMappingURL=/, path);
      const again = await fetch(`${h.url}${path}`, { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304, path);
    }
  });

  test('the page pins its import map by hash and allows scripts and requests from this origin only', async () => {
    const res = await fetch(`${h.url}/`);
    const html = await res.text();
    const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)![1]!;
    const hash = createHash('sha256').update(importMap).digest('base64');
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, new RegExp(`script-src 'self' 'sha256-${hash.replace(/[+/]/g, '\\$&')}'`));
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /default-src 'none'/);
    // The only inline script is the import map.
    assert.equal(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g)?.length, 1);
  });

  test('no path outside the manifest reaches a file', async () => {
    for (const path of [
      '/web/../package.json',
      '/web/%2e%2e/package.json',
      '/web/vendor/../../package.json',
      '/web/vendor/hljs/../../../src/cli/serve.ts',
      '/web/index.html',
      '/web/nope.js',
      '/web/vendor/hljs/fortran.js',
      '/web/app.js/',
    ]) {
      const res = await rawGet(h.url, path, { authorization: 'Bearer sk-web-1' });
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(res.body, /"dependencies"|import/, path);
    }
  });

  test('the data stays behind the key', async () => {
    const res = await fetch(`${h.url}/v1/conversations`);
    assert.equal(res.status, 401);
  });

  test('GET /v1/conversations lists the caller’s conversations, newest first, paged by limit', async () => {
    const one = new OpenAI({ baseURL: h.baseURL, apiKey: 'sk-web-1', maxRetries: 0 });
    const two = new OpenAI({ baseURL: h.baseURL, apiKey: 'sk-web-2', maxRetries: 0 });
    const first = await one.conversations.create({ metadata: { title: 'first' } });
    const second = await one.conversations.create({ metadata: { title: 'second' } });
    await two.conversations.create({ metadata: { title: 'not yours' } });

    const list = (await one.get('/conversations')) as { data: { id: string }[]; has_more: boolean };
    assert.deepEqual(
      list.data.map((c) => c.id),
      [second.id, first.id],
    );
    assert.equal(list.has_more, false);
    const page = (await one.get('/conversations', { query: { limit: 1 } })) as {
      data: { id: string; metadata: Record<string, string> }[];
      has_more: boolean;
      last_id: string;
    };
    assert.deepEqual(
      page.data.map((c) => c.metadata.title),
      ['second'],
    );
    assert.equal(page.has_more, true);
    assert.equal(page.last_id, second.id);
    await assert.rejects(one.get('/conversations', { query: { limit: 0 } }), { status: 400 });
  });
});

describe('web chat on a keyless server', () => {
  let h: TestServer;
  before(async () => {
    h = await startTestServer();
  });
  after(() => h.close());

  test('the same-origin page passes the loopback guard; another Host or Origin does not', async () => {
    const page = await rawGet(h.url, '/');
    assert.equal(page.status, 200);
    const rebound = await rawGet(h.url, '/', { host: 'evil.example' });
    assert.equal(rebound.status, 403);
    const sameOrigin = await rawGet(h.url, '/v1/conversations', { origin: h.url });
    assert.equal(sameOrigin.status, 200);
    const crossSite = await rawGet(h.url, '/v1/conversations', { origin: 'http://evil.example' });
    assert.equal(crossSite.status, 403);
  });
});

test('api_server.web_chat: false answers 404 at / and for its files', async () => {
  const h = await startTestServer({ apiServer: { web_chat: false } });
  try {
    const page = await fetch(`${h.url}/`);
    assert.equal(page.status, 404);
    assert.equal(((await page.json()) as { error: { code: string } }).error.code, 'unknown_url');
    assert.equal((await fetch(`${h.url}/web/app.js`)).status, 404);
  } finally {
    await h.close();
  }
});
