/**
 * bench/api-overhead — what Herald's API server adds on top of the upstream model, measured in one run
 * against two references on the same machine: the scripted upstream called directly, and a bare
 * `node:http` pass-through proxy (the floor for any gateway). The same streamed, non-tool prompt goes
 * to all three at concurrency 1, 10 and 100; we report time-to-first-token and total latency (p50,
 * p99), requests/s, and their ratios to the direct call. Then 1,000 concurrent slow streams are held
 * open through Herald and through the proxy to measure resident memory per open stream.
 *
 * Every process listens on 127.0.0.1 only. Run: `npm run bench` (takes about two minutes).
 * Not a test: nothing here asserts; figures go to stdout and bench/results/api-overhead.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  fmt,
  type LevelResult,
  root,
  runLevel,
  scale,
  scaledLevels,
  startChild,
  startHerald,
  stopChildren,
  streamOnce,
} from './support/streamed-load.ts';

const levels = scaledLevels([
  { concurrency: 1, requests: 200 },
  { concurrency: 10, requests: 600 },
  { concurrency: 100, requests: 1500 },
]);
const openStreams = Math.round(Number(process.env.BENCH_OPEN_STREAMS ?? 1000) * scale);

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

/** Holds `count` slow streams open through `baseUrl`; returns RSS growth of `pid` per open stream. */
async function rssPerOpenStream(baseUrl: string, pid: number, count: number) {
  global.gc?.();
  await sleep(500);
  const idle = rssBytes(pid);
  const controller = new AbortController();
  let firsts = 0;
  const all = Array.from({ length: count }, () =>
    streamOnce(baseUrl, 'hold this stream open', controller.signal, () => firsts++).catch(() => undefined),
  );
  const deadline = Date.now() + 30_000;
  while (firsts < count && Date.now() < deadline) await sleep(100);
  await sleep(500);
  const open = rssBytes(pid);
  controller.abort();
  await Promise.all(all);
  // Let the server see 1,000 disconnects and cancel their upstream calls before the next step.
  await sleep(2_000);
  return {
    streamsOpen: firsts,
    idleRssMiB: idle / 2 ** 20,
    openRssMiB: open / 2 ** 20,
    perStreamKiB: (open - idle) / firsts / 1024,
  };
}

async function main() {
  const upstream = await startChild(['bench/support/upstream-process.ts']);
  const proxy = await startChild(['bench/support/passthrough-proxy.ts', upstream.url]);
  const herald = await startHerald(
    upstream.url,
    `api_server:\n  max_concurrent_runs: ${openStreams * 2}\nlogging:\n  level: warn\n`,
  );
  const targets = { direct: upstream.url, proxy: proxy.url, herald: herald.url };

  for (const url of Object.values(targets)) await runLevel(url, 10, 100); // warm-up: JIT, sockets, SQLite

  const results: Record<string, unknown>[] = [];
  for (const { concurrency, requests } of levels) {
    const row: Record<string, LevelResult> = {};
    for (const [name, url] of Object.entries(targets)) {
      // Open this level's connections first: a burst of new connections waits in the kernel's accept
      // queue (Node accepts one per event-loop turn while the loop is busy), which would put connection
      // set-up rather than the gateway into p99.
      await runLevel(url, concurrency, concurrency);
      row[name] = await runLevel(url, concurrency, requests);
    }
    const d = row.direct!;
    console.log(`\nconcurrency ${concurrency} (${requests} streamed requests each)`);
    console.log('target  rps      ttft p50  ttft p99  total p50  total p99  errors  (ms)');
    for (const [name, r] of Object.entries(row)) {
      console.log(
        `${name.padEnd(7)} ${fmt(r.rps).padStart(7)}  ${fmt(r.ttft.p50).padStart(8)}  ${fmt(r.ttft.p99).padStart(8)}  ${fmt(r.total.p50).padStart(9)}  ${fmt(r.total.p99).padStart(9)}  ${r.errors}`,
      );
    }
    for (const name of ['proxy', 'herald'] as const) {
      const r = row[name]!;
      console.log(
        `${name} vs direct: added ttft p50 ${fmt(r.ttft.p50 - d.ttft.p50)} ms, p99 ${fmt(r.ttft.p99 - d.ttft.p99)} ms; added total p50 ${fmt(r.total.p50 - d.total.p50)} ms, p99 ${fmt(r.total.p99 - d.total.p99)} ms; rps ratio ${fmt(r.rps / d.rps)}`,
      );
    }
    results.push({ concurrency, requests, ...row });
  }

  console.log(`\nholding ${openStreams} concurrent streams open`);
  const memory = {
    proxy: await rssPerOpenStream(proxy.url, proxy.child.pid!, openStreams),
    herald: await rssPerOpenStream(herald.url, herald.child.pid!, openStreams),
  };
  for (const [name, m] of Object.entries(memory)) {
    console.log(
      `${name.padEnd(7)} streams open ${m.streamsOpen}, RSS idle ${fmt(m.idleRssMiB)} MiB → open ${fmt(m.openRssMiB)} MiB, ${fmt(m.perStreamKiB)} KiB per open stream`,
    );
  }
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(
    join(root, 'bench/results/api-overhead.json'),
    JSON.stringify({ date: new Date().toISOString(), results, memory }, null, 2),
  );
}

try {
  await main();
} finally {
  await stopChildren();
}
