/**
 * The runs API's state (`/v1/runs`): one row per run (status, owner, the response it produced, usage,
 * final text, error) and the run's typed events in order, each with a sequence number that serves as
 * its SSE `id`, so a client reconnecting with `Last-Event-ID` — after its own restart or Herald's —
 * gets exactly what it missed. At start, runs a previous process left unfinished are marked
 * `interrupted` with a final `run.interrupted` event. It does not run anything or decide event shapes.
 */
import type { Usage } from '../model/types.ts';
import { type Database, migrate, writeTransaction } from './database.ts';

export type RunStatus =
  | 'queued'
  | 'running'
  | 'waiting_for_approval'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'interrupted';

/** Statuses a run never leaves. */
export const finalRunStatuses: ReadonlySet<RunStatus> = new Set([
  'completed',
  'failed',
  'cancelled',
  'interrupted',
]);

export interface StoredRun {
  id: string;
  owner: string;
  status: RunStatus;
  /** Unix seconds. */
  createdAt: number;
  /** The profile id the run used. */
  model: string;
  /** The stored Response the run produced (chain further turns on it with `previous_response_id`). */
  responseId: string;
  usage: Usage | null;
  outputText: string | null;
  error: { code: string; message: string } | null;
}

export interface RunEvent {
  /** Increasing across all runs: the SSE `id`. */
  seq: number;
  type: string;
  data: Record<string, unknown>;
}

interface RunRow {
  id: string;
  owner: string;
  status: RunStatus;
  created_at: number;
  model: string;
  response_id: string;
  usage: string | null;
  output_text: string | null;
  error: string | null;
}

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

export type RunUpdate = Partial<Pick<StoredRun, 'status' | 'usage' | 'outputText' | 'error'>>;

export class SqliteRunStore {
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
    const columns: [string, string | null][] = [];
    if (update.status !== undefined) columns.push(['status', update.status]);
    if (update.usage !== undefined) columns.push(['usage', json(update.usage)]);
    if (update.outputText !== undefined) columns.push(['output_text', update.outputText]);
    if (update.error !== undefined) columns.push(['error', json(update.error)]);
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

  /** The run's events after `after` (a seq; 0 for all), in order. */
  async events(runId: string, after: number): Promise<RunEvent[]> {
    const rows = this.#db
      .prepare('SELECT seq, type, data FROM run_events WHERE run_id = ? AND seq > ? ORDER BY seq')
      .all(runId, after) as { seq: number; type: string; data: string }[];
    return rows.map((row) => ({
      seq: Number(row.seq),
      type: row.type,
      data: JSON.parse(row.data) as Record<string, unknown>,
    }));
  }

  /** Marks runs a previous process left unfinished as interrupted; returns how many. Call once at start. */
  async markInterrupted(): Promise<number> {
    let count = 0;
    writeTransaction(this.#db, () => {
      const rows = this.#db
        .prepare("SELECT id FROM runs WHERE status IN ('queued', 'running', 'waiting_for_approval')")
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

function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

function fromRow(row: RunRow): StoredRun {
  return {
    id: row.id,
    owner: row.owner,
    status: row.status,
    createdAt: Number(row.created_at),
    model: row.model,
    responseId: row.response_id,
    usage: row.usage ? (JSON.parse(row.usage) as Usage) : null,
    outputText: row.output_text,
    error: row.error ? (JSON.parse(row.error) as StoredRun['error']) : null,
  };
}
