/**
 * What the benchmarks share: starting their child processes (the scripted upstream, proxies, `herald
 * serve` with a config of their choosing) on loopback ports, stopping them in reverse order, and the
 * load itself: streamed chat completions at a fixed concurrency, measured as time to first token, total
 * latency (p50, p99) and requests/s. It asserts nothing and prints nothing; each benchmark reports.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { unusedLoopbackPort } from '../../test/support/loopback-server.ts';

export const root = new URL('../..', import.meta.url).pathname;
/** BENCH_SCALE shrinks request counts for a quick smoke run (e.g. 0.1); figures come from scale 1. */
export const scale = Number(process.env.BENCH_SCALE ?? 1);
const children: ChildProcess[] = [];

/** Load levels with their request counts scaled by BENCH_SCALE (never fewer than the concurrency). */
export function scaledLevels(
  levels: { concurrency: number; requests: number }[],
): { concurrency: number; requests: number }[] {
  return levels.map((level) => ({
    ...level,
    requests: Math.max(level.concurrency, Math.round(level.requests * scale)),
  }));
}

export interface Sample {
  ttftMs: number;
  totalMs: number;
}

export interface LevelResult {
  concurrency: number;
  requests: number;
  errors: number;
  rps: number;
  ttft: { p50: number; p99: number };
  total: { p50: number; p99: number };
}

/** Starts a child that prints `{"url": …}` on its first stdout line. */
export async function startChild(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n')[0];
      if (buffered.includes('\n') && line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
  return { child, url };
}

/** `herald serve` in a fresh HERALD_HOME whose config.yaml is `config`, calling `upstreamUrl`. */
export async function startHerald(
  upstreamUrl: string,
  config: string,
): Promise<{ child: ChildProcess; url: string }> {
  const home = mkdtempSync(join(tmpdir(), 'herald-bench-'));
  writeFileSync(join(home, 'config.yaml'), config);
  const port = await unusedLoopbackPort();
  const child = spawn(process.execPath, ['bin/herald.js', 'serve'], {
    cwd: root,
    env: {
      ...process.env,
      HERALD_HOME: home,
      HERALD_BASE_URL: `${upstreamUrl}/v1`,
      HERALD_API_KEY: 'bench',
      HERALD_MODEL: 'bench-model',
      API_SERVER_PORT: String(port),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  child.once('exit', () => rmSync(home, { recursive: true, force: true }));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 400; i++) {
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return { child, url };
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error('Herald did not become healthy');
}

/** Stops every child, newest first: gateways before the upstream they call, so none reports a cut upstream. */
export async function stopChildren(): Promise<void> {
  for (const child of children.toReversed()) {
    child.kill('SIGTERM');
    if (child.exitCode === null) await Promise.race([once(child, 'exit'), sleep(15_000)]);
  }
  agent.destroy();
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

/** One streamed chat completion; resolves with time to the first content delta and to the end. */
export function streamOnce(
  baseUrl: string,
  prompt: string,
  signal?: AbortSignal,
  onFirst?: () => void,
): Promise<Sample> {
  const body = JSON.stringify({
    model: 'bench-model',
    stream: true,
    messages: [{ role: 'user', content: prompt }],
  });
  const url = new URL('/v1/chat/completions', baseUrl);
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        signal,
        headers: {
          'content-type': 'application/json',
          authorization: 'Bearer bench',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`HTTP ${res.statusCode}`));
          return;
        }
        let ttft = -1;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (ttft < 0 && /"content":"[^"]/.test(chunk)) {
            ttft = performance.now() - start;
            onFirst?.();
          }
        });
        res.on('end', () => resolve({ ttftMs: ttft, totalMs: performance.now() - start }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `requests` streamed requests to `baseUrl`, `concurrency` at a time. */
export async function runLevel(baseUrl: string, concurrency: number, requests: number): Promise<LevelResult> {
  const samples: Sample[] = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        next++;
        try {
          samples.push(await streamOnce(baseUrl, 'Say something short.'));
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    concurrency,
    requests,
    errors,
    rps: samples.length / seconds,
    ttft: percentiles(samples.map((s) => s.ttftMs)),
    total: percentiles(samples.map((s) => s.totalMs)),
  };
}

export function percentiles(values: number[]): { p50: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
  return { p50: at(50), p99: at(99) };
}

export const fmt = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
