import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { configSchema } from '../config/schema.ts';
import type { HostLookup } from './address-guard.ts';
import { BlockedAddressError } from './errors.ts';
import { invokeTool } from './invoke-tool.ts';
import type { ToolContext } from './types.ts';
import { createWebFetchTool, type WebFetchOptions } from './web-fetch.ts';

/** Paths the loopback server was asked for, to prove refused requests never reached it. */
const requested: string[] = [];
let bigResponseClosed: Promise<unknown> = Promise.resolve();
let base = '';

const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/page': (_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(
      '<html><head><title>T</title><style>p{color:red}</style><script>alert(1)</script></head>' +
        '<body><h2>News</h2><p>Read <a href="/more">more here</a> or <a href="sub/x#top">this</a>.</p><ul><li>first</li><li>second</li></ul></body></html>',
    );
  },
  '/plain': (_req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end('just <b>text</b>\n');
  },
  '/latin1': (_req, res) => {
    res.setHeader('content-type', 'text/plain; charset=iso-8859-1');
    res.end(Buffer.from([0x63, 0x61, 0x66, 0xe9])); // "café" in Latin-1
  },
  '/json': (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  },
  '/image': (_req, res) => {
    res.setHeader('content-type', 'image/png');
    res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]));
  },
  '/not-found': (_req, res) => {
    res.statusCode = 404;
    res.setHeader('content-type', 'text/plain');
    res.end('no such page');
  },
  '/big': (_req, res) => {
    // An endless body: the test only ends if the tool stops reading and closes the connection.
    res.setHeader('content-type', 'text/plain');
    bigResponseClosed = once(res, 'close');
    const chunk = 'x'.repeat(16 * 1024);
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  },
  '/hang': () => {
    // Never answers; the tool's timeout must end the request.
  },
  '/hop/3': (_req, res) => redirect(res, '/hop/2'),
  '/hop/2': (_req, res) => redirect(res, '1'),
  '/hop/1': (_req, res) => redirect(res, `${base}/plain`),
  '/loop': (_req, res) => redirect(res, '/loop'),
  '/to-loopback': (_req, res) => redirect(res, `${base}/secret`),
  '/to-file': (_req, res) => redirect(res, 'file:///etc/passwd'),
  '/secret': (_req, res) => res.end('internal secret'),
};

function redirect(res: ServerResponse, location: string): void {
  res.statusCode = 302;
  res.setHeader('location', location);
  res.end();
}

const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  requested.push(path);
  const route = routes[path];
  if (route) route(req, res);
  else {
    res.statusCode = 500;
    res.end();
  }
});

before(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

function context(webFetch: Partial<ToolContext['config']['web_fetch']> = {}): ToolContext {
  const config = configSchema.parse({}).tools;
  return {
    cwd: '/',
    signal: new AbortController().signal,
    config: { ...config, web_fetch: { ...config.web_fetch, ...webFetch } },
  };
}

const privateCtx = context({ allow_private: true });
const webFetch = createWebFetchTool();

test('turns HTML into readable text with absolute links and no script or style', async () => {
  const out = await webFetch.execute({ url: `${base}/page` }, privateCtx);
  assert.equal(
    out,
    `URL: ${base}/page\nStatus: 200 OK\nContent-Type: text/html; charset=utf-8\n\n` +
      `NEWS\n\nRead more here [${base}/more] or this [${base}/sub/x#top].\n\n * first\n * second`,
  );
});

test('returns other text types as they are, decoding the declared charset', async () => {
  assert.match(await webFetch.execute({ url: `${base}/plain` }, privateCtx), /\n\njust <b>text<\/b>\n$/);
  assert.match(await webFetch.execute({ url: `${base}/json` }, privateCtx), /\n\n\{"ok":true\}$/);
  assert.match(await webFetch.execute({ url: `${base}/latin1` }, privateCtx), /\n\ncafé$/);
});

test('reports a non-2xx status with its body rather than failing', async () => {
  const out = await webFetch.execute({ url: `${base}/not-found` }, privateCtx);
  assert.match(out, /^URL: .*\nStatus: 404 Not Found\n/);
  assert.match(out, /no such page$/);
});

test('refuses binary content', async () => {
  await assert.rejects(webFetch.execute({ url: `${base}/image` }, privateCtx), {
    code: 'unsupported_content',
    message: /returned image\/png .*which is not text/,
  });
});

test('caps the text at max_chars with a note, and the argument cannot raise the configured cap', async () => {
  const out = await webFetch.execute({ url: `${base}/plain`, max_chars: 4 }, privateCtx);
  assert.match(out, /\n\njust\n\n\[truncated: 13 more chars not shown \(max_chars 4\)\]$/);
  const capped = await webFetch.execute(
    { url: `${base}/plain`, max_chars: 1_000 },
    context({ allow_private: true, max_chars: 4 }),
  );
  assert.match(capped, /\(max_chars 4\)\]$/);
});

test('stops downloading at max_bytes and closes the connection', async () => {
  const ctx = context({ allow_private: true, max_bytes: 10_000, max_chars: 50_000 });
  const out = await webFetch.execute({ url: `${base}/big` }, ctx);
  assert.match(out, /\n\nx{10000}\n\n\[download stopped at the 10000-byte limit; the page continues\]$/);
  const hangGuard = sleep(5_000, 'still open', { ref: false });
  assert.notEqual(await Promise.race([bigResponseClosed, hangGuard]), 'still open');
});

test('gives up after timeout_s', async () => {
  await assert.rejects(
    webFetch.execute({ url: `${base}/hang` }, context({ allow_private: true, timeout_s: 0.2 })),
    {
      code: 'timeout',
      message: `Timed out after 0.2 s fetching ${base}/hang.`,
    },
  );
});

test('follows relative and absolute redirects up to five hops', async () => {
  const out = await webFetch.execute({ url: `${base}/hop/3` }, privateCtx);
  assert.match(out, new RegExp(`^URL: ${base}/plain\\n`));
  await assert.rejects(webFetch.execute({ url: `${base}/loop` }, privateCtx), {
    code: 'too_many_redirects',
    message: /Stopped after 5 redirects/,
  });
});

test('refuses a redirect to a non-http scheme', async () => {
  await assert.rejects(webFetch.execute({ url: `${base}/to-file` }, privateCtx), {
    code: 'unsupported_url',
    message: 'Refused: file:///etc/passwd is not an http(s) URL.',
  });
});

test('accepts only http and https URLs', async () => {
  for (const url of ['ftp://example.com/x', 'file:///etc/passwd', 'not a url']) {
    const result = await invokeTool(webFetch, JSON.stringify({ url }), privateCtx);
    assert.equal(result.isError, true, url);
    assert.match(result.output, /^Error: invalid arguments for web_fetch: url: /);
  }
});

test('without allow_private refuses loopback, private and link-local targets before any request', async () => {
  const guarded = createWebFetchTool({
    fetch: async () => assert.fail('no request may be sent to a refused address'),
  });
  const port = new URL(base).port;
  const targets = [
    `http://127.0.0.1:${port}/secret`,
    `http://localhost:${port}/secret`,
    'http://10.0.0.1/',
    'http://169.254.169.254/latest/meta-data/',
    `http://[::1]:${port}/secret`,
    'http://[::ffff:127.0.0.1]/',
    'http://2130706433/',
  ];
  for (const url of targets) {
    await assert.rejects(guarded.execute({ url }, context()), BlockedAddressError, url);
  }
  assert.equal(requested.includes('/secret'), false);
});

test('without allow_private refuses a redirect that lands on loopback', async () => {
  // A "public" host whose requests the injected fetch delivers to the loopback server, so the first
  // hop passes the guard without any traffic leaving the machine.
  const lookup: HostLookup = async (host) => {
    assert.equal(host, 'public.example');
    return [{ address: '93.184.216.34', family: 4 }];
  };
  const options: WebFetchOptions = {
    lookup,
    fetch: async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input);
      assert.equal(url.hostname, 'public.example', 'only the public-looking hop may be fetched');
      return fetch(`${base}${url.pathname}`, init);
    },
  };
  const before = requested.length;
  await assert.rejects(
    createWebFetchTool(options).execute({ url: 'http://public.example/to-loopback' }, context()),
    (error: unknown) => {
      assert.ok(error instanceof BlockedAddressError);
      assert.equal(error.address, '127.0.0.1');
      return true;
    },
  );
  assert.deepEqual(requested.slice(before), ['/to-loopback']);
});

test('a refused connection is a clear error naming the cause', async () => {
  const closed = createServer();
  closed.listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const { port } = closed.address() as AddressInfo;
  closed.close();
  await once(closed, 'close');
  await assert.rejects(webFetch.execute({ url: `http://127.0.0.1:${port}/` }, privateCtx), {
    code: 'fetch_failed',
    message: /^Could not fetch http:\/\/127\.0\.0\.1:\d+\/: fetch failed \(.*ECONNREFUSED/,
  });
});

test('aborting the signal cancels a pending request', async () => {
  const controller = new AbortController();
  const ctx = { ...context({ allow_private: true }), signal: controller.signal };
  const pending = webFetch.execute({ url: `${base}/hang` }, ctx);
  setTimeout(() => controller.abort(), 20);
  await assert.rejects(pending, { name: 'AbortError' });
});
