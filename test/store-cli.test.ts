/**
 * The store from the command line with `HERALD_DATABASE_URL` set: `herald doctor` reports whether the
 * PostgreSQL server answers and which schema it holds (without the password), `herald store migrate`
 * (a real `herald` process) creates every store's schema and exits, and an unreachable database is a
 * failed doctor check with its fix and a one-line startup error.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { runDoctor } from '../src/cli/doctor.ts';
import { unusedLoopbackPort } from './support/loopback-server.ts';
import { freshDatabaseUrl, postgresSkipReason } from './support/postgres.ts';

const herald = new URL('../bin/herald.js', import.meta.url).pathname;
const homes: string[] = [];
after(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

function envWith(databaseUrl: string): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'herald-store-cli-'));
  homes.push(home);
  return { HERALD_HOME: home, HOME: home, PATH: process.env['PATH'] ?? '', HERALD_DATABASE_URL: databaseUrl };
}

/** The doctor's store line (the other checks fail without a model; they are not under test here). */
async function doctorStoreLine(env: Record<string, string>): Promise<string | undefined> {
  const output = new PassThrough();
  let text = '';
  output.on('data', (part: Buffer) => {
    text += part.toString();
  });
  await runDoctor({ env, output, probe: false, upstreamTimeoutMs: 3_000 }).catch(() => {});
  return text.split('\n').find((line) => / store: /.test(line));
}

describe('the shared store from the command line', { skip: postgresSkipReason() }, () => {
  it('doctor sees an empty database, store migrate creates the schema, doctor then lists it', async () => {
    const url = await freshDatabaseUrl();
    const env = envWith(url);
    const before = await doctorStoreLine(env);
    assert.match(
      before ?? '',
      /^✓ store: PostgreSQL 127\.0\.0\.1:\d+\/herald_test_\w+ answers \(server [\d.]+\), no schema yet/,
    );
    assert.doesNotMatch(before ?? '', /herald-test/, 'the password is never printed');

    const { stdout } = await promisify(execFile)(process.execPath, [herald, 'store', 'migrate'], { env });
    assert.match(stdout, /Store schema is up to date: PostgreSQL 127\.0\.0\.1:\d+\/herald_test_\w+/);

    assert.match(
      (await doctorStoreLine(env)) ?? '',
      /schema approval_rules v1, idempotency v1, pairing v1, platform_leases v1, replica_commands v1, replicas v1, responses v1, runs v1, sessions v1, transcripts v1$/,
    );
  });

  it('store migrate on an unreachable database exits 1 with one line naming the key, not the password', async () => {
    const port = await unusedLoopbackPort();
    const env = envWith(`postgres://herald:secret@127.0.0.1:${port}/herald`);
    const run = promisify(execFile)(process.execPath, [herald, 'store', 'migrate'], { env });
    await assert.rejects(run, (error: { code?: number; stderr?: string }) => {
      assert.equal(error.code, 1);
      assert.match(
        error.stderr ?? '',
        /Could not open the store at PostgreSQL 127\.0\.0\.1:\d+\/herald \(store\.url \/ HERALD_DATABASE_URL\)/,
      );
      assert.doesNotMatch(error.stderr ?? '', /secret/);
      return true;
    });
  });

  it('doctor fails the store check of an unreachable database, with the fix', async () => {
    const port = await unusedLoopbackPort();
    const line = await doctorStoreLine(envWith(`postgres://herald:secret@127.0.0.1:${port}/herald`));
    assert.match(
      line ?? '',
      /^✗ store: PostgreSQL 127\.0\.0\.1:\d+\/herald: .* — fix: check store\.url \/ HERALD_DATABASE_URL/,
    );
    assert.doesNotMatch(line ?? '', /secret/);
  });
});
