/**
 * The SQLite `SessionStore`: each chat-platform conversation's messages as JSON rows in arrival
 * order, keyed by the gateway's conversation key, and the summary of the latest compaction. It keeps
 * every message it is given; `load` serves the summary and the messages after it, and trimming those to
 * a window is the caller's choice through `load(key, limit)`.
 */
import type { ChatMessage } from '../model/types.ts';
import { type Database, migrate, writeTransaction } from './database.ts';
import type { SessionStore } from './types.ts';

const steps = [
  `CREATE TABLE session_messages (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     session_key TEXT NOT NULL,
     message TEXT NOT NULL
   );
   CREATE INDEX session_messages_by_key ON session_messages (session_key, seq);`,
  // Compaction: the summary stands for the messages up to and including `through_seq`.
  `CREATE TABLE session_summaries (
     session_key TEXT PRIMARY KEY,
     through_seq INTEGER NOT NULL,
     summary TEXT NOT NULL
   );`,
];

export class SqliteSessionStore implements SessionStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
    migrate(db, 'sessions', steps);
  }

  async load(key: string, limit?: number): Promise<ChatMessage[]> {
    const summary = this.#db
      .prepare('SELECT through_seq, summary FROM session_summaries WHERE session_key = ?')
      .get(key) as { through_seq: number; summary: string } | undefined;
    const after = summary?.through_seq ?? 0;
    const rows = (
      limit === undefined
        ? this.#db
            .prepare('SELECT message FROM session_messages WHERE session_key = ? AND seq > ? ORDER BY seq')
            .all(key, after)
        : this.#db
            .prepare(
              'SELECT message FROM session_messages WHERE session_key = ? AND seq > ? ORDER BY seq DESC LIMIT ?',
            )
            .all(key, after, Math.max(0, limit))
            .reverse()
    ) as { message: string }[];
    const messages = rows.map((r) => JSON.parse(r.message) as ChatMessage);
    return summary ? [JSON.parse(summary.summary) as ChatMessage, ...messages] : messages;
  }

  async compact(key: string, summary: ChatMessage, keep: number): Promise<void> {
    writeTransaction(this.#db, () => {
      const newest = this.#db
        .prepare('SELECT seq FROM session_messages WHERE session_key = ? ORDER BY seq DESC LIMIT 1 OFFSET ?')
        .get(key, Math.max(0, keep)) as { seq: number } | undefined;
      this.#db
        .prepare(
          `INSERT INTO session_summaries (session_key, through_seq, summary) VALUES (?, ?, ?)
           ON CONFLICT (session_key) DO UPDATE
             SET through_seq = MAX(through_seq, excluded.through_seq), summary = excluded.summary`,
        )
        .run(key, newest?.seq ?? 0, JSON.stringify(summary));
    });
  }

  async append(key: string, messages: ChatMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const insert = this.#db.prepare('INSERT INTO session_messages (session_key, message) VALUES (?, ?)');
    writeTransaction(this.#db, () => {
      for (const message of messages) insert.run(key, JSON.stringify(message));
    });
  }

  async reset(key: string): Promise<void> {
    writeTransaction(this.#db, () => {
      this.#db.prepare('DELETE FROM session_messages WHERE session_key = ?').run(key);
      this.#db.prepare('DELETE FROM session_summaries WHERE session_key = ?').run(key);
    });
  }

  async count(key: string): Promise<number> {
    const row = this.#db
      .prepare('SELECT COUNT(*) AS n FROM session_messages WHERE session_key = ?')
      .get(key) as {
      n: number;
    };
    return Number(row.n);
  }
}
