/**
 * The PostgreSQL `SessionStore`: the SQLite session store's tables and answers in a shared database,
 * its schema steps a list of their own mirroring SQLite's. Ordering of one conversation's turns across
 * replicas is the caller's (the turn lock's), not this store's.
 */
import type { ChatMessage } from '../model/types.ts';
import { inTransaction, migratePostgres, type PostgresPool, valuesList } from './postgres-database.ts';
import type { SessionStore } from './types.ts';

const steps = [
  `CREATE TABLE session_messages (
     seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     session_key TEXT NOT NULL,
     message TEXT NOT NULL
   );
   CREATE INDEX session_messages_by_key ON session_messages (session_key, seq);
   CREATE TABLE session_summaries (
     session_key TEXT PRIMARY KEY,
     through_seq BIGINT NOT NULL,
     summary TEXT NOT NULL
   );`,
];

export class PostgresSessionStore implements SessionStore {
  readonly #pool: PostgresPool;

  private constructor(pool: PostgresPool) {
    this.#pool = pool;
  }

  static async open(pool: PostgresPool): Promise<PostgresSessionStore> {
    await migratePostgres(pool, 'sessions', steps);
    return new PostgresSessionStore(pool);
  }

  async load(key: string, limit?: number): Promise<ChatMessage[]> {
    const { rows: summaries } = await this.#pool.query<{ through_seq: number; summary: string }>(
      'SELECT through_seq, summary FROM session_summaries WHERE session_key = $1',
      [key],
    );
    const summary = summaries[0];
    const after = summary?.through_seq ?? 0;
    const { rows } =
      limit === undefined
        ? await this.#pool.query<{ message: string }>(
            'SELECT message FROM session_messages WHERE session_key = $1 AND seq > $2 ORDER BY seq',
            [key, after],
          )
        : await this.#pool.query<{ message: string }>(
            `SELECT message FROM (
               SELECT seq, message FROM session_messages WHERE session_key = $1 AND seq > $2
                ORDER BY seq DESC LIMIT $3
             ) newest ORDER BY seq`,
            [key, after, Math.max(0, limit)],
          );
    const messages = rows.map((r) => JSON.parse(r.message) as ChatMessage);
    return summary ? [JSON.parse(summary.summary) as ChatMessage, ...messages] : messages;
  }

  async compact(key: string, summary: ChatMessage, keep: number): Promise<void> {
    await this.#pool.query(
      `INSERT INTO session_summaries (session_key, through_seq, summary)
       SELECT $1, COALESCE((SELECT seq FROM session_messages WHERE session_key = $1
                             ORDER BY seq DESC LIMIT 1 OFFSET $2), 0), $3
       ON CONFLICT (session_key) DO UPDATE
         SET through_seq = GREATEST(session_summaries.through_seq, excluded.through_seq), summary = excluded.summary`,
      [key, Math.max(0, keep), JSON.stringify(summary)],
    );
  }

  async append(key: string, messages: ChatMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.#pool.query(
      `INSERT INTO session_messages (session_key, message) VALUES ${valuesList(messages.length, 2)}`,
      messages.flatMap((message) => [key, JSON.stringify(message)]),
    );
  }

  async reset(key: string): Promise<void> {
    await inTransaction(this.#pool, async (client) => {
      await client.query('DELETE FROM session_messages WHERE session_key = $1', [key]);
      await client.query('DELETE FROM session_summaries WHERE session_key = $1', [key]);
    });
  }

  async count(key: string): Promise<number> {
    const { rows } = await this.#pool.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM session_messages WHERE session_key = $1',
      [key],
    );
    return Number(rows[0]?.n ?? 0);
  }
}
