/**
 * Cold start of `herald chat -q`: time from spawning `node bin/herald.js chat -q …` to the scripted
 * upstream receiving its first request (the upstream's recorded `receivedAt`), median of 5 runs, plus
 * the whole run's wall time. Not a test; run it with `node bench/cli-cold-start.ts [runs]`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScriptedUpstream } from '../test/support/scripted-upstream.ts';

const runs = Number(process.argv[2] ?? 5);
const herald = new URL('../bin/herald.js', import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), 'herald-bench-'));
writeFileSync(join(home, 'config.yaml'), '');
const upstream = await ScriptedUpstream.start();

const toFirstRequest: number[] = [];
const total: number[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const before = upstream.requests.length;
    const started = Date.now();
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [herald, 'chat', '-q', 'hello'], {
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: home,
          HERALD_HOME: home,
          HERALD_BASE_URL: upstream.url,
          HERALD_MODEL: 'scripted-model',
          // Lets a comparison run turn off the compile cache main.ts enables.
          ...(process.env['NODE_DISABLE_COMPILE_CACHE'] ? { NODE_DISABLE_COMPILE_CACHE: '1' } : {}),
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      child.on('error', reject);
      child.on('close', resolve);
    });
    const ended = Date.now();
    const request = upstream.requests[before];
    if (code !== 0 || !request) throw new Error(`run ${i + 1} failed (exit ${code})`);
    toFirstRequest.push(request.receivedAt - started);
    total.push(ended - started);
  }
} finally {
  await upstream.close();
  rmSync(home, { recursive: true, force: true });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(
  JSON.stringify({
    runs,
    node: process.version,
    spawnToFirstRequestMs: { median: median(toFirstRequest), all: toFirstRequest },
    spawnToExitMs: { median: median(total), all: total },
  }),
);
