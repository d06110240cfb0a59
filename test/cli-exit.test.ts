/**
 * The `herald` process ends when it should: `chat -q` as soon as the answer is printed, `serve` after
 * SIGTERM/SIGINT in every state (idle, after serving, mid-stream, chat platforms unreachable), a second
 * signal at once; and one `serve` per HERALD_HOME. Each test spawns the real CLI (bin/herald.js) against
 * the scripted upstream. The only timing check is a hang guard; the measured signal-to-exit times are
 * printed as test diagnostics (`node --test test/cli-exit.test.ts` shows them).
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, type TestContext, test } from 'node:test';
import OpenAI from 'openai';
import { CONFIG_VERSION } from '../src/config/index.ts';
import { unusedLoopbackPort } from './support/loopback-server.ts';
import { OtlpCollector } from './support/otlp-collector.ts';
import { type ScriptedTurn, ScriptedUpstream } from './support/scripted-upstream.ts';

const herald = new URL('../bin/herald.js', import.meta.url).pathname;
/** Hang guard: every process here exits in a few seconds when healthy. */
const HANG_GUARD_MS = 15_000;
const GRACE_S = 1;

const roots: string[] = [];
const children = new Set<ChildProcessWithoutNullStreams>();
after(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A HERALD_HOME whose config makes shutdowns short (1 s grace) and binds the API to a free port. */
function tempHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'herald-exit-'));
  roots.push(home);
  writeFileSync(
    join(home, 'config.yaml'),
    `config_version: ${CONFIG_VERSION}\napi_server:\n  port: 0\n  shutdown_grace_s: ${GRACE_S}\ngateway:\n  shutdown_grace_s: ${GRACE_S}\n`,
  );
  return home;
}

/** A spawned herald: its output so far, and a promise of its exit (killed by the hang guard if it hangs). */
class HeraldProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  #hung = false;

  constructor(args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [herald, ...args], {
      env: { PATH: process.env['PATH'] ?? '', HOME: env['HERALD_HOME'] ?? tmpdir(), ...env },
    });
    children.add(this.child);
    this.child.stdout.on('data', (part: Buffer) => {
      this.stdout += part.toString();
    });
    this.child.stderr.on('data', (part: Buffer) => {
      this.stderr += part.toString();
    });
    this.child.stdin.end();
    const guard = setTimeout(() => {
      this.#hung = true;
      this.child.kill('SIGKILL');
    }, HANG_GUARD_MS);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        clearTimeout(guard);
        children.delete(this.child);
        resolve({ code, signal, at: Date.now() });
      });
    });
  }

  /** Exit code; fails the test if the process had to be killed by the hang guard. */
  async exitCode(): Promise<number | null> {
    const { code } = await this.exited;
    assert.equal(this.#hung, false, `herald did not exit within ${HANG_GUARD_MS} ms:\n${this.stderr}`);
    return code;
  }

  /** Resolves with the API base URL (…/v1) once serve says it listens. */
  async listening(): Promise<string> {
    for (;;) {
      const url = /API server listening on (\S+)/.exec(this.stderr)?.[1];
      if (url) return url;
      const exited = await Promise.race([
        this.exited.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), 20)),
      ]);
      if (exited) throw new Error(`herald serve exited before listening:\n${this.stderr}`);
    }
  }

  /** Sends `signal` and returns the exit code and the ms from signal to exit. */
  async stopWith(signal: NodeJS.Signals): Promise<{ code: number | null; ms: number }> {
    const sent = Date.now();
    this.child.kill(signal);
    const code = await this.exitCode();
    // serve's exit watchdog ends a process something kept alive; here nothing may need it.
    assert.doesNotMatch(this.stderr, /serve\.exit_forced/);
    return { code, ms: (await this.exited).at - sent };
  }
}

function report(t: TestContext, state: string, ms: number, graceS = GRACE_S): void {
  t.diagnostic(`${state}: exited ${ms} ms after the signal (grace ${graceS} s)`);
}

/** A loopback server that accepts connections and never answers; `connected` resolves on the first. */
async function silentServer(): Promise<{ port: number; connected: Promise<void>; close(): void }> {
  const sockets = new Set<Socket>();
  const connected = Promise.withResolvers<void>();
  const server = createServer((socket) => {
    sockets.add(socket);
    connected.resolve();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    connected: connected.promise,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

let upstream: ScriptedUpstream;
beforeEach(async () => {
  upstream = await ScriptedUpstream.start();
});
afterEach(() => upstream.close());

const env = (home: string): Record<string, string> => upstream.heraldEnv(home);

/** Upstreams that send no `usage: null` on their first chunk: Herald then prepares a token estimate. */
const usageStyles: { name: string; turn: ScriptedTurn }[] = [
  { name: 'usage only on the last chunk', turn: { text: 'the answer', usageOnFinishChunk: true } },
  { name: 'no usage at all', turn: { text: 'the answer', usage: false } },
];

describe('herald chat -q exits once the answer is printed', () => {
  for (const { name, turn } of usageStyles) {
    test(`upstream with ${name}`, async () => {
      upstream.enqueue(turn);
      const run = new HeraldProcess(['chat', '-q', 'hi'], env(tempHome()));
      assert.equal(await run.exitCode(), 0, run.stderr);
      assert.equal(run.stdout, 'the answer\n');
    });
  }
});

describe('herald serve exits on SIGTERM/SIGINT', () => {
  test('idle', async (t) => {
    const serve = new HeraldProcess(['serve'], env(tempHome()));
    await serve.listening();
    const { code, ms } = await serve.stopWith('SIGTERM');
    assert.equal(code, 0, serve.stderr);
    report(t, 'idle', ms);
  });

  for (const { name, turn } of usageStyles) {
    test(`after serving a chat completion from an upstream with ${name}`, async (t) => {
      const serve = new HeraldProcess(['serve'], env(tempHome()));
      const client = new OpenAI({ baseURL: await serve.listening(), apiKey: 'none', maxRetries: 0 });
      upstream.enqueue(turn, turn);
      const stream = await client.chat.completions.create({
        model: 'herald',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      assert.equal(text, 'the answer');
      const plain = await client.chat.completions.create({
        model: 'herald',
        messages: [{ role: 'user', content: 'hi' }],
      });
      assert.equal(plain.choices[0]?.message.content, 'the answer');
      const { code, ms } = await serve.stopWith('SIGINT');
      assert.equal(code, 0, serve.stderr);
      report(t, `after serving (${name})`, ms);
    });
  }

  test('after a client cancelled a stream mid-way', async (t) => {
    const serve = new HeraldProcess(['serve'], env(tempHome()));
    const client = new OpenAI({ baseURL: await serve.listening(), apiKey: 'none', maxRetries: 0 });
    upstream.enqueue({ text: 'x'.repeat(400), usageOnFinishChunk: true, chunkDelayMs: 50 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'herald', messages: [{ role: 'user', content: 'hi' }], stream: true },
      { signal: controller.signal },
    );
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) {
        controller.abort();
        break;
      }
    }
    for (let i = 0; i < 200 && upstream.aborted === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(upstream.aborted, 1, 'the run reached the upstream and was aborted');
    const { code, ms } = await serve.stopWith('SIGTERM');
    assert.equal(code, 0, serve.stderr);
    report(t, 'after an aborted run', ms);
  });

  test('mid-stream: the stream ends with its error frame, then the process exits', async (t) => {
    const serve = new HeraldProcess(['serve'], env(tempHome()));
    const client = new OpenAI({ baseURL: await serve.listening(), apiKey: 'none', maxRetries: 0 });
    // 100 chunks 200 ms apart: far longer than the grace period.
    upstream.enqueue({ text: 'x'.repeat(400), usageOnFinishChunk: true, chunkDelayMs: 200 });
    const stream = await client.chat.completions.create({
      model: 'herald',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let signalled: Promise<{ code: number | null; ms: number }> | undefined;
    await assert.rejects(
      async () => {
        for await (const chunk of stream)
          if (chunk.choices[0]?.delta.content) signalled ??= serve.stopWith('SIGTERM');
      },
      { code: 'server_shutting_down' },
    );
    assert.ok(signalled);
    const { code, ms } = await signalled;
    assert.equal(code, 0, serve.stderr);
    report(t, 'mid-stream', ms);
  });

  // Unreachable: connections are refused. Starting: connections are accepted, never answered.
  for (const state of ['unreachable', 'starting'] as const) {
    test(`while a chat platform is ${state}`, async (t) => {
      const telegram = state === 'starting' ? await silentServer() : undefined;
      const serve = new HeraldProcess(['serve'], {
        ...env(tempHome()),
        TELEGRAM_BOT_TOKEN: '123:test',
        TELEGRAM_API_ROOT: `http://127.0.0.1:${telegram?.port ?? (await unusedLoopbackPort())}`,
      });
      try {
        await serve.listening();
        assert.match(serve.stderr, /"platform":"telegram"/);
        if (telegram) await telegram.connected;
        const { code, ms } = await serve.stopWith('SIGTERM');
        assert.equal(code, 0, serve.stderr);
        report(t, `platform ${state}`, ms);
      } finally {
        telegram?.close();
      }
    });
  }

  test('a second signal exits at once with one line and a non-zero code', async (t) => {
    const home = tempHome();
    // A long grace: only the second signal can end this shutdown quickly.
    writeFileSync(join(home, 'config.yaml'), 'api_server:\n  port: 0\n  shutdown_grace_s: 60\n');
    const serve = new HeraldProcess(['serve'], env(home));
    const client = new OpenAI({ baseURL: await serve.listening(), apiKey: 'none', maxRetries: 0 });
    upstream.enqueue({ hang: true });
    const request = client.chat.completions
      .create({ model: 'herald', messages: [{ role: 'user', content: 'hi' }] })
      .catch(() => undefined);
    await upstream.waitForRequests(1);
    serve.child.kill('SIGTERM');
    for (let i = 0; i < 200 && !serve.stderr.includes('shutting down'); i++)
      await new Promise((r) => setTimeout(r, 10));
    const { code, ms } = await serve.stopWith('SIGTERM');
    await request;
    assert.equal(code, 143, serve.stderr);
    const lastLine = serve.stderr.trim().split('\n').at(-1);
    assert.equal(lastLine, 'herald: second SIGTERM: exiting now without waiting for running replies');
    report(t, 'second signal', ms, 60);
  });
});

describe('one herald serve per HERALD_HOME', () => {
  test('a second serve refuses to start, naming the first; after kill -9 of the first, serve starts', async () => {
    const home = tempHome();
    const first = new HeraldProcess(['serve'], env(home));
    const port = new URL(await first.listening()).port;
    const lock = JSON.parse(readFileSync(join(home, 'herald.lock'), 'utf8'));
    assert.equal(lock.pid, first.child.pid);

    const second = new HeraldProcess(['serve'], env(home));
    assert.equal(await second.exitCode(), 1);
    assert.deepEqual(second.stderr.trim().split('\n'), [
      `herald: Another herald serve (pid ${first.child.pid}, port ${port}) is already using this HERALD_HOME; stop it or set another HERALD_HOME (if that process is gone, delete ${join(home, 'herald.lock')}).`,
    ]);

    first.child.kill('SIGKILL');
    await first.exited;
    const third = new HeraldProcess(['serve'], env(home));
    await third.listening();
    assert.equal(JSON.parse(readFileSync(join(home, 'herald.lock'), 'utf8')).pid, third.child.pid);
    assert.equal((await third.stopWith('SIGTERM')).code, 0, third.stderr);
    assert.throws(() => readFileSync(join(home, 'herald.lock')), { code: 'ENOENT' }, 'released on exit');
  });

  test('chat -q runs beside a serve on the same home', async () => {
    const home = tempHome();
    const serve = new HeraldProcess(['serve'], env(home));
    await serve.listening();
    upstream.enqueue({ text: 'beside' });
    const chat = new HeraldProcess(['chat', '-q', 'hi'], env(home));
    assert.equal(await chat.exitCode(), 0, chat.stderr);
    assert.equal(chat.stdout, 'beside\n');
    assert.equal((await serve.stopWith('SIGTERM')).code, 0);
  });
});

describe('herald serve startup banner', () => {
  /** The banner's lines: stderr without the JSON log lines (logs are JSON when stderr is no terminal). */
  const bannerOf = (stderr: string) => stderr.split('\n').filter((line) => line && !line.startsWith('{'));

  test('says where the API, the web chat, the status page and metrics are and which model answers; logs stay JSON', async () => {
    const serve = new HeraldProcess(['serve'], env(tempHome()));
    const base = await serve.listening();
    const origin = base.replace(/\/v1$/, '');
    const status = await fetch(`${origin}/status`);
    assert.equal(status.status, 200);
    await status.arrayBuffer();
    assert.equal((await serve.stopWith('SIGTERM')).code, 0);
    assert.deepEqual(bannerOf(serve.stderr), [
      'herald 0.1.0',
      `  API server listening on ${base} (no API key: this machine only)`,
      `  Web chat: ${origin}/`,
      `  Status page: ${origin}/status · readiness: ${origin}/health/ready`,
      `  Metrics: ${origin}/metrics`,
      '  Chat platforms: none configured',
      `  Model: scripted-model at ${upstream.url}`,
    ]);
    const events = serve.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line).event);
    assert.ok(events.includes('api.listening'), serve.stderr);
  });

  test('without a model, says what to do once', async () => {
    const serve = new HeraldProcess(['serve'], { HERALD_HOME: tempHome() });
    await serve.listening();
    assert.equal((await serve.stopWith('SIGTERM')).code, 0);
    const banner = bannerOf(serve.stderr);
    assert.equal(banner.filter((line) => line.includes('herald setup')).length, 1, serve.stderr);
    assert.match(
      banner.at(-1) ?? '',
      /^ {2}Model: none\. No upstream model is configured\. Run `herald setup`/,
    );
  });
});

describe('herald serve with tracing', () => {
  /** Reports every OpenTelemetry module the process resolves, on stderr. */
  function moduleReporter(home: string): string {
    const path = join(home, 'report-otel-modules.mjs');
    writeFileSync(
      path,
      `import { registerHooks } from 'node:module';
registerHooks({
  resolve(specifier, context, next) {
    const resolved = next(specifier, context);
    if (resolved.url.includes('/@opentelemetry/')) process.stderr.write('otel-module ' + resolved.url + '\\n');
    return resolved;
  },
});
`,
    );
    return `--import=${path}`;
  }

  async function serveOneCompletion(extraEnv: Record<string, string>): Promise<HeraldProcess> {
    const home = tempHome();
    const serve = new HeraldProcess(['serve'], {
      ...env(home),
      NODE_OPTIONS: moduleReporter(home),
      ...extraEnv,
    });
    const client = new OpenAI({ baseURL: await serve.listening(), apiKey: 'none', maxRetries: 0 });
    upstream.enqueue({ text: 'the answer' });
    await client.chat.completions.create({ model: 'herald', messages: [{ role: 'user', content: 'hi' }] });
    return serve;
  }

  test('off (the default): the OpenTelemetry SDK is not loaded and nothing is exported', async () => {
    const collector = await OtlpCollector.start();
    try {
      const serve = await serveOneCompletion({
        OTEL_EXPORTER_OTLP_ENDPOINT: new URL(collector.endpoint).origin,
      });
      assert.equal((await serve.stopWith('SIGTERM')).code, 0, serve.stderr);
      // Only the API, a no-op facade without the SDK, which prom-client loads anyway.
      assert.match(serve.stderr, /otel-module \S+@opentelemetry\/api\//);
      assert.doesNotMatch(serve.stderr, /otel-module \S+@opentelemetry\/(?!api\/)/);
      assert.equal(collector.exports.length, 0);
    } finally {
      await collector.close();
    }
  });

  test('on: the last requests reach the collector (from the OTEL_* variables) by the time serve exited', async () => {
    const collector = await OtlpCollector.start();
    try {
      const serve = await serveOneCompletion({
        HERALD_TRACING: 'true',
        OTEL_EXPORTER_OTLP_ENDPOINT: new URL(collector.endpoint).origin,
        OTEL_SERVICE_NAME: 'herald-exit-test',
      });
      assert.equal((await serve.stopWith('SIGTERM')).code, 0, serve.stderr);
      assert.match(serve.stderr, /otel-module \S+sdk-trace-node/);
      const request = collector.span('POST /v1/chat/completions');
      assert.equal(request.serviceName, 'herald-exit-test');
      assert.equal(collector.span('invoke_agent herald').parentSpanId, request.spanId);
    } finally {
      await collector.close();
    }
  });

  test('on with the collector unreachable: exits promptly after SIGTERM', async (t) => {
    const serve = await serveOneCompletion({
      HERALD_TRACING: 'true',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${await unusedLoopbackPort()}/v1/traces`,
    });
    const { code, ms } = await serve.stopWith('SIGTERM');
    assert.equal(code, 0, serve.stderr);
    report(t, 'tracing on, collector unreachable', ms);
  });
});
