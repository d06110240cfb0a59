/**
 * `Idempotency-Key` results in the shared PostgreSQL database, so a retry that lands on another
 * replica replays the first result instead of running the agent again. A key is claimed by the replica
 * running its first request (the row names the replica); a claim whose replica's lease expired, or
 * whose result expired, is taken over. It stores what it is given; hashing and scoping keys is the API
 * server's job.
 */
import { migratePostgres, type PostgresPool } from './postgres-database.ts';
import { liveInstancesSql } from './replica-lease.ts';
import type { IdempotencyClaim, IdempotencyStore, IdempotentResult } from './types.ts';

const steps = [
  `CREATE TABLE idempotency_results (
     key TEXT PRIMARY KEY,
     body_hash TEXT NOT NULL,
     instance_id TEXT NOT NULL,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     status INTEGER,
     content_type TEXT,
     payload TEXT
   );
   CREATE INDEX idempotency_results_by_age ON idempotency_results (created_at);`,
];

interface Row {
  body_hash: string;
  status: number | null;
  content_type: string | null;
  payload: string | null;
}

export class PostgresIdempotencyStore implements IdempotencyStore {
  readonly #pool: PostgresPool;
  readonly #instanceId: string;

  private constructor(pool: PostgresPool, instanceId: string) {
    this.#pool = pool;
    this.#instanceId = instanceId;
  }

  static async open(pool: PostgresPool, instanceId: string): Promise<PostgresIdempotencyStore> {
    await migratePostgres(pool, 'idempotency', steps);
    return new PostgresIdempotencyStore(pool, instanceId);
  }

  async claim(key: string, bodyHash: string, ttlMs: number): Promise<IdempotencyClaim> {
    const claimed = await this.#pool.query(
      `INSERT INTO idempotency_results (key, body_hash, instance_id) VALUES ($1, $2, $3)
       ON CONFLICT (key) DO UPDATE
         SET body_hash = excluded.body_hash, instance_id = excluded.instance_id, created_at = now(),
             status = NULL, content_type = NULL, payload = NULL
         WHERE idempotency_results.created_at < now() - make_interval(secs => $4)
            OR (idempotency_results.payload IS NULL
                AND idempotency_results.instance_id NOT IN (${liveInstancesSql}))`,
      [key, bodyHash, this.#instanceId, ttlMs / 1000],
    );
    if ((claimed.rowCount ?? 0) > 0) return { state: 'claimed' };
    const { rows } = await this.#pool.query<Row>(
      'SELECT body_hash, status, content_type, payload FROM idempotency_results WHERE key = $1',
      [key],
    );
    const row = rows[0];
    // Released between the two queries: the caller asks again.
    if (!row) return { state: 'running' };
    if (row.body_hash !== bodyHash) return { state: 'conflict' };
    if (row.payload === null || row.status === null) return { state: 'running' };
    return {
      state: 'done',
      result: { status: row.status, contentType: row.content_type ?? undefined, payload: row.payload },
    };
  }

  async complete(key: string, result: IdempotentResult): Promise<void> {
    await this.#pool.query(
      `UPDATE idempotency_results SET status = $2, content_type = $3, payload = $4
        WHERE key = $1 AND instance_id = $5 AND payload IS NULL`,
      [key, result.status, result.contentType ?? null, result.payload, this.#instanceId],
    );
  }

  async release(key: string): Promise<void> {
    await this.#pool.query(
      'DELETE FROM idempotency_results WHERE key = $1 AND instance_id = $2 AND payload IS NULL',
      [key, this.#instanceId],
    );
  }

  /** Drops results older than `ttlMs`; returns how many. */
  async prune(ttlMs: number): Promise<number> {
    const result = await this.#pool.query(
      'DELETE FROM idempotency_results WHERE created_at < now() - make_interval(secs => $1)',
      [ttlMs / 1000],
    );
    return result.rowCount ?? 0;
  }
}
