import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type LookupFunction } from 'node:net';
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
    home: '/nonexistent/herald-home',
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

/** A lookup that fails the test if the tool ever resolves a name (IP literals must not need DNS). */
const noDns: HostLookup = async (host) => assert.fail(`unexpected DNS lookup of ${host}`);

/** A connection seam that fails the test if any connection is attempted at all. */
const noConnect: WebFetchOptions['createConnection'] = () => assert.fail('no connection may be opened');

/**
 * A connection seam that runs the tool's guarded lookup and records what it would hand the socket, but
 * never connects: refused-case tests cannot send traffic anywhere even if the guard regresses.
 */
function guardOnly(handed: string[]): WebFetchOptions['createConnection'] {
  return (options, oncreate) => {
    const guard = options.lookup as LookupFunction;
    guard(String(options.hostname ?? options.host), { all: true }, (error, addresses) => {
      if (error) return oncreate(error, undefined as never);
      handed.push(...(addresses as { address: string }[]).map((a) => a.address));
      oncreate(new Error('test seam: connection not opened'), undefined as never);
    });
    return undefined;
  };
}

test('without allow_private refuses loopback, private and link-local targets before any request', async () => {
  const port = new URL(base).port;
  const literals = [
    `http://127.0.0.1:${port}/secret`,
    'http://10.0.0.1/',
    'http://169.254.169.254/latest/meta-data/',
    `http://[::1]:${port}/secret`,
    'http://[::ffff:127.0.0.1]/',
    'http://2130706433/',
  ];
  for (const url of literals) {
    const guarded = createWebFetchTool({ lookup: noDns, createConnection: noConnect });
    await assert.rejects(guarded.execute({ url }, context()), BlockedAddressError, url);
  }
  // Through the real agent and the system resolver: refused in the socket's lookup, before connect.
  await assert.rejects(
    webFetch.execute({ url: `http://localhost:${port}/secret` }, context()),
    BlockedAddressError,
  );
  await assert.rejects(
    webFetch.execute({ url: `http://127.0.0.1:${port}/secret` }, context()),
    BlockedAddressError,
  );
  assert.equal(requested.includes('/secret'), false);
});

test('refuses a host when any one of its addresses is blocked', async () => {
  const lookup: HostLookup = async () => [
    { address: '93.184.216.34', family: 4 },
    { address: '127.0.0.1', family: 4 },
  ];
  const handed: string[] = [];
  const guarded = createWebFetchTool({ lookup, createConnection: guardOnly(handed) });
  await assert.rejects(guarded.execute({ url: 'http://mixed.example/' }, context()), {
    code: 'blocked_address',
    address: '127.0.0.1',
  });
  assert.deepEqual(handed, []);
});

test('closes DNS rebinding: the answer that is checked is the one connected to', async () => {
  // A rebinding resolver: the loopback answer first, a public-looking one afterwards. A design that
  // checks one resolution and connects with another would pass the check on the second answer.
  let calls = 0;
  const lookup: HostLookup = async () => {
    calls++;
    return [{ address: calls === 1 ? '127.0.0.1' : '93.184.216.34', family: 4 }];
  };
  const port = new URL(base).port;
  const before = requested.length;
  await assert.rejects(
    createWebFetchTool({ lookup }).execute({ url: `http://rebind.example:${port}/secret` }, context()),
    { code: 'blocked_address', address: '127.0.0.1' },
  );
  assert.equal(calls, 1, 'the host is resolved exactly once per connection');
  assert.equal(requested.length, before);

  // The attack order (public first, loopback later): the socket gets the checked public answer, and
  // only it; the seam stops before connecting, so nothing leaves the machine.
  calls = 0;
  const publicFirst: HostLookup = async () => {
    calls++;
    return [{ address: calls === 1 ? '93.184.216.34' : '127.0.0.1', family: 4 }];
  };
  const handed: string[] = [];
  const guarded = createWebFetchTool({ lookup: publicFirst, createConnection: guardOnly(handed) });
  await assert.rejects(guarded.execute({ url: `http://rebind.example:${port}/secret` }, context()), {
    code: 'fetch_failed',
    message: /test seam: connection not opened/,
  });
  assert.equal(calls, 1);
  assert.deepEqual(handed, ['93.184.216.34']);
  assert.equal(requested.length, before);
});

test('connects to exactly the address it resolved, without resolving again', async () => {
  // allow_private so loopback answers are allowed; the first answer (127.0.0.2) has no server, the
  // later one (127.0.0.1) has. Reaching the server would mean the socket resolved the name again.
  let calls = 0;
  const lookup: HostLookup = async () => {
    calls++;
    return [{ address: calls === 1 ? '127.0.0.2' : '127.0.0.1', family: 4 }];
  };
  const port = new URL(base).port;
  const before = requested.length;
  await assert.rejects(
    createWebFetchTool({ lookup }).execute(
      { url: `http://rebind.example:${port}/secret` },
      context({ allow_private: true, timeout_s: 5 }),
    ),
    (error: unknown) => {
      assert.ok(error instanceof Error && 'code' in error);
      assert.ok(error.code === 'fetch_failed' || error.code === 'timeout', String(error.code));
      return true;
    },
  );
  assert.equal(calls, 1);
  assert.equal(requested.length, before);
});

test('without allow_private re-checks every redirect hop at connect time', async () => {
  // The seam runs the tool's own guarded lookup (the check), records what it handed the socket, and
  // then connects to the loopback server instead, so no traffic leaves the machine.
  const lookup: HostLookup = async (host) => {
    if (host === 'public.example') return [{ address: '93.184.216.34', family: 4 }];
    if (host === 'internal.example') return [{ address: '127.0.0.1', family: 4 }];
    return assert.fail(`unexpected lookup of ${host}`);
  };
  const handed: string[] = [];
  const port = Number(new URL(base).port);
  const createConnection: WebFetchOptions['createConnection'] = (options, oncreate) => {
    const guard = options.lookup as LookupFunction;
    guard(String(options.hostname ?? options.host), { all: true }, (error, addresses) => {
      if (error) return oncreate(error, undefined as never);
      handed.push(...(addresses as { address: string }[]).map((a) => a.address));
      const socket = connect({ host: '127.0.0.1', port });
      oncreate(null, socket);
    });
    return undefined;
  };
  routes['/to-internal'] = (_req, res) => redirect(res, `http://internal.example:${port}/secret`);
  const before = requested.length;
  await assert.rejects(
    createWebFetchTool({ lookup, createConnection }).execute(
      { url: 'http://public.example/to-internal' },
      context(),
    ),
    (error: unknown) => {
      assert.ok(error instanceof BlockedAddressError);
      assert.equal(error.address, '127.0.0.1');
      return true;
    },
  );
  assert.deepEqual(handed, ['93.184.216.34']);
  assert.deepEqual(requested.slice(before), ['/to-internal']);
  // A redirect to a loopback IP literal is refused without any lookup.
  await assert.rejects(
    createWebFetchTool({ lookup, createConnection }).execute(
      { url: 'http://public.example/to-loopback' },
      context(),
    ),
    { code: 'blocked_address', address: '127.0.0.1' },
  );
  assert.deepEqual(requested.slice(before), ['/to-internal', '/to-loopback']);
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
