/**
 * The SQLite `SessionStore`: each chat-platform conversation's messages as JSON rows in arrival
 * order, keyed by the gateway's conversation key. It keeps whatever it is given; trimming history to
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
];

export class SqliteSessionStore implements SessionStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
    migrate(db, 'sessions', steps);
  }

  async load(key: string, limit?: number): Promise<ChatMessage[]> {
    const rows = (
      limit === undefined
        ? this.#db.prepare('SELECT message FROM session_messages WHERE session_key = ? ORDER BY seq').all(key)
        : this.#db
            .prepare('SELECT message FROM session_messages WHERE session_key = ? ORDER BY seq DESC LIMIT ?')
            .all(key, Math.max(0, limit))
            .reverse()
    ) as { message: string }[];
    return rows.map((r) => JSON.parse(r.message) as ChatMessage);
  }

  async append(key: string, messages: ChatMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const insert = this.#db.prepare('INSERT INTO session_messages (session_key, message) VALUES (?, ?)');
    writeTransaction(this.#db, () => {
      for (const message of messages) insert.run(key, JSON.stringify(message));
    });
  }

  async reset(key: string): Promise<void> {
    this.#db.prepare('DELETE FROM session_messages WHERE session_key = ?').run(key);
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
