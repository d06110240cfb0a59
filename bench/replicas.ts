/**
 * bench/replicas — what scaling out on PostgreSQL costs and gives, in one run on one machine: the same
 * streamed, non-tool chat completion as bench/api-overhead goes to the scripted upstream directly, to
 * one Herald on SQLite, to one Herald on PostgreSQL, and through a round-robin balancer
 * (test/support/round-robin-proxy.ts) to 1, 2 and 3 Herald replicas sharing one PostgreSQL database, at
 * concurrency 10 and 100. We report requests/s and latency (time to first token, total; p50, p99) as
 * ratios to the direct upstream, and the database queries per request, read from the replicas'
 * `herald_store_queries_total` (/metrics) before and after each run (lease renewals every
 * `store.lease_s`/3 s are counted too; they are a handful per run).
 *
 * PostgreSQL is embedded (the test suite's server), everything listens on 127.0.0.1, and every process
 * shares this machine's cores: more replicas only help when there are cores to spare. Run:
 * `node bench/replicas.ts` (a few minutes; BENCH_SCALE=0.1 for a smoke run). Not a test: nothing here
 * asserts; figures go to stdout and bench/results/replicas.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_VERSION } from '../src/config/index.ts';
import { startPostgresServer } from '../test/support/postgres-server.ts';
import {
  fmt,
  type LevelResult,
  root,
  runLevel,
  scaledLevels,
  startChild,
  startHerald,
  stopChildren,
} from './support/streamed-load.ts';

const levels = scaledLevels([
  { concurrency: 10, requests: 600 },
  { concurrency: 100, requests: 1500 },
]);
const REPLICAS = 3;
const baseConfig = `config_version: ${CONFIG_VERSION}\napi_server:\n  max_concurrent_runs: 200\nlogging:\n  level: warn\n`;

interface Target {
  name: string;
  url: string;
  /** The Herald replicas on PostgreSQL behind it, whose queries count for it. */
  replicas: string[];
}

/** Sum of `herald_store_queries_total` over `replicas`. */
async function storeQueries(replicas: string[]): Promise<number> {
  let total = 0;
  for (const url of replicas) {
    const text = await (await fetch(`${url}/metrics`)).text();
    total += Number(/^herald_store_queries_total (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
  }
  return total;
}

async function main() {
  const postgres = await startPostgresServer({ flags: ['-c', 'max_connections=400'] });
  try {
    await postgres.admin.query('CREATE DATABASE herald_bench');
    const storeUrl = `${postgres.baseUrl}/herald_bench`;
    const upstream = await startChild(['bench/support/upstream-process.ts']);
    const sqlite = await startHerald(upstream.url, baseConfig);
    const replicas: string[] = [];
    for (let i = 0; i < REPLICAS; i++) {
      const replica = await startHerald(upstream.url, `${baseConfig}store:\n  url: ${storeUrl}\n`);
      replicas.push(replica.url);
    }
    const balanced = async (n: number): Promise<Target> => ({
      name: `lb → ${n}× pg`,
      url: (await startChild(['bench/support/round-robin-proxy-process.ts', ...replicas.slice(0, n)])).url,
      replicas: replicas.slice(0, n),
    });
    const targets: Target[] = [
      { name: 'direct', url: upstream.url, replicas: [] },
      { name: '1× sqlite', url: sqlite.url, replicas: [] },
      { name: '1× pg', url: replicas[0]!, replicas: replicas.slice(0, 1) },
      await balanced(1),
      await balanced(2),
      await balanced(3),
    ];
    // Warm-up: JIT, sockets, pools, prepared schema on every replica.
    for (const target of targets) await runLevel(target.url, 10, 100);

    const results: Record<string, unknown>[] = [];
    for (const { concurrency, requests } of levels) {
      const row: Array<LevelResult & { name: string; queriesPerRequest: number | null }> = [];
      for (const target of targets) {
        // Open this level's connections first (see bench/api-overhead.ts).
        await runLevel(target.url, concurrency, concurrency);
        const before = await storeQueries(target.replicas);
        const result = await runLevel(target.url, concurrency, requests);
        const queries = (await storeQueries(target.replicas)) - before;
        row.push({
          name: target.name,
          ...result,
          queriesPerRequest: target.replicas.length ? queries / requests : null,
        });
      }
      const direct = row[0]!;
      console.log(`\nconcurrency ${concurrency} (${requests} streamed requests each)`);
      console.log(
        'target        rps      ×direct  ttft p50  ttft p99  total p50  total p99  ×direct p50  ×direct p99  queries/req  errors',
      );
      for (const r of row) {
        console.log(
          [
            r.name.padEnd(12),
            fmt(r.rps).padStart(7),
            fmt(r.rps / direct.rps).padStart(8),
            fmt(r.ttft.p50).padStart(8),
            fmt(r.ttft.p99).padStart(8),
            fmt(r.total.p50).padStart(9),
            fmt(r.total.p99).padStart(9),
            fmt(r.total.p50 / direct.total.p50).padStart(11),
            fmt(r.total.p99 / direct.total.p99).padStart(11),
            (r.queriesPerRequest === null ? '-' : fmt(r.queriesPerRequest)).padStart(11),
            String(r.errors).padStart(6),
          ].join('  '),
        );
      }
      results.push({ concurrency, requests, targets: row });
    }
    mkdirSync(join(root, 'bench/results'), { recursive: true });
    writeFileSync(
      join(root, 'bench/results/replicas.json'),
      JSON.stringify({ date: new Date().toISOString(), results }, null, 2),
    );
  } finally {
    await stopChildren();
    await postgres.stop();
  }
}

await main();
