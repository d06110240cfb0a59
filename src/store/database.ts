/**
 * Opens Herald's SQLite database (`HERALD_HOME/herald.db`) through Node's built-in `node:sqlite`, in
 * WAL mode so readers never block the writer. Each store creates its own tables through `migrate`, with
 * a per-store schema version, so stores stay independent of each other and a later version can add
 * columns without touching the rest.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export type Database = DatabaseSync;

export function openDatabase(file: string): Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new DatabaseSync(file);
  db.exec(
    'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;',
  );
  db.exec('CREATE TABLE IF NOT EXISTS schema_versions (store TEXT PRIMARY KEY, version INTEGER NOT NULL)');
  return db;
}

/**
 * Brings one store's tables up to date: runs `steps[i]` for every version above the stored one, in a
 * transaction each. Steps are append-only: never edit a released step, add a new one. Steps run with
 * foreign keys off (SQLite's table-rebuild procedure: dropping a rebuilt parent table must not cascade
 * to its children) and are checked with `foreign_key_check` before they commit.
 */
export function migrate(db: Database, store: string, steps: readonly string[]): void {
  const row = db.prepare('SELECT version FROM schema_versions WHERE store = ?').get(store) as
    | { version: number }
    | undefined;
  const from = row?.version ?? 0;
  if (from >= steps.length) return;
  // A no-op inside a transaction, so it is switched around the steps, not in them.
  db.exec('PRAGMA foreign_keys = OFF');
  try {
    for (let version = from; version < steps.length; version++) {
      db.exec('BEGIN');
      try {
        db.exec(steps[version]!);
        const broken = db.prepare('PRAGMA foreign_key_check').all();
        if (broken.length > 0) {
          throw new Error(`Migration ${store} v${version + 1} broke ${broken.length} foreign key(s).`);
        }
        db.prepare(
          'INSERT INTO schema_versions (store, version) VALUES (?, ?) ON CONFLICT(store) DO UPDATE SET version = excluded.version',
        ).run(store, version + 1);
        db.exec('COMMIT');
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
    }
  } finally {
    db.exec('PRAGMA foreign_keys = ON');
  }
}

/**
 * Runs `work` as one write transaction, rolled back if it throws. IMMEDIATE takes the write lock at
 * BEGIN, so another writer makes us wait there (busy_timeout) instead of failing half-way through.
 */
export function writeTransaction(db: Database, work: () => void): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    work();
    db.exec('COMMIT');
  } catch (error) {
    // SQLite has already rolled back after some errors (SQLITE_FULL): a second ROLLBACK would throw
    // "no transaction is active" and hide the real error.
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
