/**
 * Herald's PostgreSQL connection (`store.url`): a `pg` pool shared by every PostgreSQL store of one
 * replica, versioned schema migrations per store (the same append-only shape as the SQLite `migrate`,
 * with their own step lists), and transactions. Migrations run under a session advisory lock, so
 * replicas starting together apply each step exactly once. It holds no store logic.
 */
import pg from 'pg';

export type PostgresPool = pg.Pool;
export type PostgresClient = pg.PoolClient;
/** What a store query runs on: the pool, or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>;

/** int8 (BIGINT) as a JS number: Herald's integers (seconds, milliseconds, sequence numbers) fit. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/** Keys of Herald's advisory locks: the migration lock, and turn locks (hashed keys) well apart. */
const MIGRATION_LOCK = 0x4845_5241; // "HERA"

export function openPostgresPool(
  url: string,
  options: { max: number; timeoutMs?: number; onQuery?: () => void },
): PostgresPool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max,
    ...(options.timeoutMs
      ? { connectionTimeoutMillis: options.timeoutMs, query_timeout: options.timeoutMs }
      : {}),
    types,
    application_name: 'herald',
  });
  // An idle connection dropped by the server (restart, failover) must not crash the process; the pool
  // replaces it and the next query reports a real failure where it happens.
  pool.on('error', () => {});
  const { onQuery } = options;
  if (onQuery) {
    // Every query, pooled or inside a transaction, goes through its client's `query`: counting there
    // counts round trips (pg offers no query event).
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      client.query = ((...args: unknown[]) => {
        onQuery();
        return query(...args);
      }) as typeof client.query;
    });
  }
  return pool;
}

/**
 * Brings one store's tables up to date: runs `steps[i]` for every version above the stored one, each in
 * a transaction. Steps are append-only: never edit a released step, add a new one.
 */
export async function migratePostgres(
  pool: PostgresPool,
  store: string,
  steps: readonly string[],
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_versions (store TEXT PRIMARY KEY, version INTEGER NOT NULL)',
      );
      const { rows } = await client.query<{ version: number }>(
        'SELECT version FROM schema_versions WHERE store = $1',
        [store],
      );
      for (let version = rows[0]?.version ?? 0; version < steps.length; version++) {
        await client.query('BEGIN');
        try {
          await client.query(steps[version]!);
          await client.query(
            `INSERT INTO schema_versions (store, version) VALUES ($1, $2)
             ON CONFLICT (store) DO UPDATE SET version = excluded.version`,
            [store, version + 1],
          );
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}

/** Runs `work` in one transaction on one pooled client, rolled back if it throws. */
export async function inTransaction<T>(
  pool: PostgresPool,
  work: (client: PostgresClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A client whose ROLLBACK fails (connection lost) is discarded rather than returned to the pool.
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

/** `$1, $2, …` placeholders for multi-row inserts: `rows` rows of `width` values, numbered from `from`. */
export function valuesList(rows: number, width: number, from = 1): string {
  return Array.from(
    { length: rows },
    (_, row) => `(${Array.from({ length: width }, (_, col) => `$${from + row * width + col}`).join(', ')})`,
  ).join(', ');
}
