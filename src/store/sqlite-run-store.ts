/**
 * The runs API's state (`/v1/runs`): one row per run (status, owner, the response it produced, usage,
 * final text, error) and the run's typed events in order, each with a sequence number that serves as
 * its SSE `id`, so a client reconnecting with `Last-Event-ID` — after its own restart or Herald's —
 * gets exactly what it missed. At start, runs a previous process left unfinished are marked
 * `interrupted` with a final `run.interrupted` event. It does not run anything or decide event shapes.
 */
import { type Database, migrate, writeTransaction } from './database.ts';
import { fromRow, json, type RunRow, toEvent, unfinishedRunStatusesSql, updateColumns } from './run-rows.ts';
import type { RunEvent, RunStore, RunUpdate, StoredRun } from './types.ts';

const steps = [
  `CREATE TABLE runs (
     id TEXT PRIMARY KEY,
     owner TEXT NOT NULL,
     status TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     model TEXT NOT NULL,
     response_id TEXT NOT NULL,
     usage TEXT,
     output_text TEXT,
     error TEXT
   );
   CREATE INDEX runs_unfinished ON runs (status) WHERE status IN ('queued', 'running', 'waiting_for_approval');
   CREATE TABLE run_events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
     type TEXT NOT NULL,
     data TEXT NOT NULL
   );
   CREATE INDEX run_events_by_run ON run_events (run_id, seq);`,
];

export class SqliteRunStore implements RunStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
    migrate(db, 'runs', steps);
  }

  async create(run: StoredRun): Promise<void> {
    this.#db
      .prepare(
        'INSERT INTO runs (id, owner, status, created_at, model, response_id, usage, output_text, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        run.id,
        run.owner,
        run.status,
        run.createdAt,
        run.model,
        run.responseId,
        json(run.usage),
        run.outputText,
        json(run.error),
      );
  }

  async update(id: string, update: RunUpdate): Promise<void> {
    const columns = updateColumns(update);
    if (columns.length === 0) return;
    this.#db
      .prepare(`UPDATE runs SET ${columns.map(([column]) => `${column} = ?`).join(', ')} WHERE id = ?`)
      .run(...columns.map(([, value]) => value), id);
  }

  async get(id: string): Promise<StoredRun | undefined> {
    const row = this.#db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  async appendEvent(runId: string, type: string, data: Record<string, unknown>): Promise<RunEvent> {
    const result = this.#db
      .prepare('INSERT INTO run_events (run_id, type, data) VALUES (?, ?, ?)')
      .run(runId, type, JSON.stringify(data));
    return { seq: Number(result.lastInsertRowid), type, data };
  }

  async events(runId: string, after: number): Promise<RunEvent[]> {
    const rows = this.#db
      .prepare('SELECT seq, type, data FROM run_events WHERE run_id = ? AND seq > ? ORDER BY seq')
      .all(runId, after) as { seq: number; type: string; data: string }[];
    return rows.map(toEvent);
  }

  /** Marks every unfinished run as interrupted (one serve per HERALD_HOME: they are a previous process's). Call once at start. */
  async markInterrupted(): Promise<number> {
    let count = 0;
    writeTransaction(this.#db, () => {
      const rows = this.#db
        .prepare(`SELECT id FROM runs WHERE status IN ${unfinishedRunStatusesSql}`)
        .all() as { id: string }[];
      const insert = this.#db.prepare('INSERT INTO run_events (run_id, type, data) VALUES (?, ?, ?)');
      for (const { id } of rows) {
        this.#db.prepare("UPDATE runs SET status = 'interrupted' WHERE id = ?").run(id);
        insert.run(id, 'run.interrupted', JSON.stringify({ run_id: id, status: 'interrupted' }));
      }
      count = rows.length;
    });
    return count;
  }
}
