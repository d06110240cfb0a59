/**
 * The PostgreSQL `TranscriptStore`: chat-completion transcripts in the shared database, so a chat
 * session continues on whichever replica its next request lands. Same tables and answers as the SQLite
 * transcript store (schema steps of its own, mirroring SQLite's); each save is one transaction, as the
 * server does the group commit SQLite needed for its single writer.
 */
import { randomUUID } from 'node:crypto';
import type { ChatMessage } from '../model/types.ts';
import { inTransaction, migratePostgres, type PostgresPool } from './postgres-database.ts';
import type { NewTranscriptState, TranscriptState, TranscriptStore } from './sqlite-transcript-store.ts';

const steps = [
  `CREATE TABLE transcript_sessions (
     id TEXT PRIMARY KEY,
     scope TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     updated_at BIGINT NOT NULL
   );
   CREATE TABLE transcript_states (
     seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     session_id TEXT NOT NULL REFERENCES transcript_sessions (id) ON DELETE CASCADE,
     scope TEXT NOT NULL,
     visible_hash TEXT NOT NULL,
     visible_turns TEXT NOT NULL,
     messages TEXT NOT NULL,
     created_at BIGINT NOT NULL
   );
   CREATE INDEX transcript_states_by_hash ON transcript_states (scope, visible_hash, seq);
   CREATE INDEX transcript_states_by_session ON transcript_states (session_id, seq);
   CREATE INDEX transcript_sessions_by_age ON transcript_sessions (updated_at);`,
];

const stateColumns = 'session_id, visible_hash, visible_turns, messages, created_at';

interface StateRow {
  session_id: string;
  visible_hash: string;
  visible_turns: string;
  messages: string;
  created_at: number;
}

export class PostgresTranscriptStore implements TranscriptStore {
  readonly #pool: PostgresPool;
  readonly #now: () => number;

  private constructor(pool: PostgresPool, now: () => number) {
    this.#pool = pool;
    this.#now = now;
  }

  static async open(
    pool: PostgresPool,
    options: { now?: () => number } = {},
  ): Promise<PostgresTranscriptStore> {
    await migratePostgres(pool, 'transcripts', steps);
    return new PostgresTranscriptStore(pool, options.now ?? Date.now);
  }

  newSessionId(): string {
    return `hs_${randomUUID().replaceAll('-', '')}`;
  }

  async getSession(
    sessionId: string,
    scope: string,
    visibleHash?: string,
  ): Promise<TranscriptState | undefined> {
    const { rows } = await this.#pool.query<{ scope: string }>(
      'SELECT scope FROM transcript_sessions WHERE id = $1',
      [sessionId],
    );
    if (rows[0]?.scope !== scope) return undefined;
    if (visibleHash !== undefined) {
      const exact = await this.#state(
        `SELECT ${stateColumns} FROM transcript_states WHERE session_id = $1 AND visible_hash = $2 ORDER BY seq DESC LIMIT 1`,
        [sessionId, visibleHash],
      );
      if (exact) return exact;
    }
    return this.#state(
      `SELECT ${stateColumns} FROM transcript_states WHERE session_id = $1 ORDER BY seq DESC LIMIT 1`,
      [sessionId],
    );
  }

  findByVisibleHash(scope: string, visibleHash: string): Promise<TranscriptState | undefined> {
    return this.#state(
      `SELECT ${stateColumns} FROM transcript_states WHERE scope = $1 AND visible_hash = $2 ORDER BY seq DESC LIMIT 1`,
      [scope, visibleHash],
    );
  }

  async save(state: NewTranscriptState): Promise<void> {
    const now = this.#now();
    // Serialised before the transaction: a message that cannot be stored fails this save alone.
    const visibleTurns = JSON.stringify(state.visibleTurns);
    const messages = JSON.stringify(state.messages);
    await inTransaction(this.#pool, async (client) => {
      await client.query(
        `INSERT INTO transcript_sessions (id, scope, created_at, updated_at) VALUES ($1, $2, $3, $3)
         ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at`,
        [state.sessionId, state.scope, now],
      );
      await client.query(
        'INSERT INTO transcript_states (session_id, scope, visible_hash, visible_turns, messages, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
        [state.sessionId, state.scope, state.visibleHash, visibleTurns, messages, now],
      );
    });
  }

  async prune(options: { maxAgeDays: number }): Promise<number> {
    const cutoff = this.#now() - options.maxAgeDays * 24 * 60 * 60 * 1000;
    const result = await this.#pool.query('DELETE FROM transcript_sessions WHERE updated_at < $1', [cutoff]);
    return result.rowCount ?? 0;
  }

  async #state(sql: string, params: unknown[]): Promise<TranscriptState | undefined> {
    const { rows } = await this.#pool.query<StateRow>(sql, params);
    const row = rows[0];
    return row
      ? {
          sessionId: row.session_id,
          visibleHash: row.visible_hash,
          visibleTurns: JSON.parse(row.visible_turns) as string[],
          messages: JSON.parse(row.messages) as ChatMessage[],
          createdAt: row.created_at,
        }
      : undefined;
  }
}
