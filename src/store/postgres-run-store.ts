/**
 * The PostgreSQL `RunStore` (`/v1/runs` with `store.url`): the SQLite run store's tables in a shared
 * database, plus the replica that runs each run, so recovery (`markInterrupted`) only closes runs whose
 * replica's lease has expired — never a live replica's — and a request on another replica can find
 * where a run is executing (`runningReplica`). It runs nothing itself.
 */
import { inTransaction, migratePostgres, type PostgresPool } from './postgres-database.ts';
import { liveInstancesSql } from './replica-lease.ts';
import { fromRow, json, type RunRow, toEvent, unfinishedRunStatusesSql, updateColumns } from './run-rows.ts';
import type { RunEvent, RunStore, RunUpdate, StoredRun } from './types.ts';

/** Schema steps (append-only); `seq` is the SSE event id, increasing across all runs. */
export const postgresRunStoreMigrations = [
  `CREATE TABLE runs (
     id TEXT PRIMARY KEY,
     owner TEXT NOT NULL,
     status TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     model TEXT NOT NULL,
     response_id TEXT NOT NULL,
     usage TEXT,
     output_text TEXT,
     error TEXT,
     instance_id TEXT
   );
   CREATE INDEX runs_unfinished ON runs (status) WHERE status IN ('queued', 'running', 'waiting_for_approval');
   CREATE TABLE run_events (
     seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
     type TEXT NOT NULL,
     data TEXT NOT NULL
   );
   CREATE INDEX run_events_by_run ON run_events (run_id, seq);`,
];

export class PostgresRunStore implements RunStore {
  readonly #pool: PostgresPool;
  readonly #instanceId: string;

  private constructor(pool: PostgresPool, instanceId: string) {
    this.#pool = pool;
    this.#instanceId = instanceId;
  }

  /** Migrates the schema (once, under a lock across replicas); `instanceId` is recorded on new runs. */
  static async open(pool: PostgresPool, instanceId: string): Promise<PostgresRunStore> {
    await migratePostgres(pool, 'runs', postgresRunStoreMigrations);
    return new PostgresRunStore(pool, instanceId);
  }

  async create(run: StoredRun): Promise<void> {
    await this.#pool.query(
      `INSERT INTO runs (id, owner, status, created_at, model, response_id, usage, output_text, error, instance_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        run.id,
        run.owner,
        run.status,
        run.createdAt,
        run.model,
        run.responseId,
        json(run.usage),
        run.outputText,
        json(run.error),
        this.#instanceId,
      ],
    );
  }

  async update(id: string, update: RunUpdate): Promise<void> {
    const columns = updateColumns(update);
    if (columns.length === 0) return;
    await this.#pool.query(
      `UPDATE runs SET ${columns.map(([column], i) => `${column} = $${i + 1}`).join(', ')} WHERE id = $${columns.length + 1}`,
      [...columns.map(([, value]) => value), id],
    );
  }

  async get(id: string): Promise<StoredRun | undefined> {
    const { rows } = await this.#pool.query<RunRow>('SELECT * FROM runs WHERE id = $1', [id]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async appendEvent(runId: string, type: string, data: Record<string, unknown>): Promise<RunEvent> {
    const { rows } = await this.#pool.query<{ seq: number }>(
      'INSERT INTO run_events (run_id, type, data) VALUES ($1, $2, $3) RETURNING seq',
      [runId, type, JSON.stringify(data)],
    );
    return { seq: rows[0]!.seq, type, data };
  }

  async events(runId: string, after: number): Promise<RunEvent[]> {
    const { rows } = await this.#pool.query<{ seq: number; type: string; data: string }>(
      'SELECT seq, type, data FROM run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq',
      [runId, after],
    );
    return rows.map(toEvent);
  }

  /** The live replica running unfinished run `id`, if any. */
  async runningReplica(id: string): Promise<string | undefined> {
    const { rows } = await this.#pool.query<{ instance_id: string }>(
      `SELECT instance_id FROM runs
        WHERE id = $1 AND status IN ${unfinishedRunStatusesSql} AND instance_id IN (${liveInstancesSql})`,
      [id],
    );
    return rows[0]?.instance_id;
  }

  /**
   * Marks unfinished runs whose replica is gone (lease expired or released) as interrupted; a live
   * replica's runs are left alone. Safe from several replicas at once (rows being recovered are skipped).
   */
  async markInterrupted(): Promise<number> {
    return inTransaction(this.#pool, async (client) => {
      const { rows } = await client.query<{ id: string }>(
        `SELECT id FROM runs
          WHERE status IN ${unfinishedRunStatusesSql}
            AND (instance_id IS NULL OR instance_id NOT IN (${liveInstancesSql}))
          FOR UPDATE SKIP LOCKED`,
      );
      for (const { id } of rows) {
        await client.query("UPDATE runs SET status = 'interrupted' WHERE id = $1", [id]);
        await client.query('INSERT INTO run_events (run_id, type, data) VALUES ($1, $2, $3)', [
          id,
          'run.interrupted',
          JSON.stringify({ run_id: id, status: 'interrupted' }),
        ]);
      }
      return rows.length;
    });
  }
}
