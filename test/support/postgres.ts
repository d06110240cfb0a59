/**
 * The PostgreSQL server of a test process (postgres-server.ts: embedded, on loopback, in a temp
 * directory): started on first use (initdb runs once per process), stopped and deleted when the
 * process's tests end. Each caller gets a database of its own on it (`freshDatabaseUrl`), so tests
 * never see each other's rows. When the server cannot start, `postgresAvailability`
 * says why and the PostgreSQL half of a suite fails with that reason; `HERALD_TEST_SKIP_POSTGRES=1`
 * skips it instead, explicitly.
 */
import { after } from 'node:test';
import { type PostgresServer, startPostgresServer } from './postgres-server.ts';

export const SKIP_POSTGRES_ENV = 'HERALD_TEST_SKIP_POSTGRES';

let server: Promise<PostgresServer> | undefined;
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

function startOnce(): Promise<PostgresServer> {
  if (!server) {
    server = startPostgresServer().catch((error: unknown) => {
      throw new Error(
        `Could not start the embedded PostgreSQL server for the tests (${String(error)}). Fix the cause, or set ${SKIP_POSTGRES_ENV}=1 to skip the PostgreSQL tests.`,
      );
    });
  }
  return server;
}
