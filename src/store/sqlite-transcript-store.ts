/**
 * Chat Completions transcripts: the full conversation the agent saw (tool calls and their results
 * included) for each chat session, so a frontend that sends back only the visible text still gets an
 * agent that remembers what its tools found. Each run stores a snapshot (a "state") keyed by a hash of
 * the conversation's visible history, so a later request can find it by header (session id) or by
 * history (the hash); regenerating an earlier turn finds the earlier state. Scoping (who may match
 * what) is the caller's job: it goes into the hash and the session's `scope`. It knows nothing of HTTP.
 */
import { randomUUID } from 'node:crypto';
import type { StatementSync } from 'node:sqlite';
import type { ChatMessage } from '../model/types.ts';
import { type Database, migrate } from './database.ts';

export interface TranscriptState {
  sessionId: string;
  /** The full transcript after a run: prior messages, the run's input turn and everything it appended. */
  messages: ChatMessage[];
  /** The conversation as the client sees it (user texts, assistant replies as shown), oldest first. */
  visibleTurns: string[];
  visibleHash: string;
  createdAt: number;
}

export interface TranscriptStore {
  /** A new, unguessable session id (`hs_…`). */
  newSessionId(): string;
  /** The session's state whose visible hash matches, else its latest state; undefined if unknown or out of scope. */
  getSession(sessionId: string, scope: string, visibleHash?: string): Promise<TranscriptState | undefined>;
  /** The most recent state of any session in `scope` with this visible hash. */
  findByVisibleHash(scope: string, visibleHash: string): Promise<TranscriptState | undefined>;
  /** Records a state after a run (creating the session on first use). */
  save(state: NewTranscriptState): Promise<void>;
  /** Drops sessions untouched for longer than `maxAgeDays`. Returns the number removed. */
  prune(options: { maxAgeDays: number }): Promise<number>;
}

export interface NewTranscriptState {
  sessionId: string;
  scope: string;
  visibleTurns: string[];
  visibleHash: string;
  messages: ChatMessage[];
}

const MIGRATIONS = [
  `CREATE TABLE transcript_sessions (
     id TEXT PRIMARY KEY,
     scope TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE transcript_states (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     session_id TEXT NOT NULL REFERENCES transcript_sessions(id) ON DELETE CASCADE,
     scope TEXT NOT NULL,
     visible_hash TEXT NOT NULL,
     visible_turns TEXT NOT NULL,
     messages TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX transcript_states_by_hash ON transcript_states (scope, visible_hash, seq);
   CREATE INDEX transcript_states_by_session ON transcript_states (session_id, seq);
   CREATE INDEX transcript_sessions_by_age ON transcript_sessions (updated_at);`,
];

interface StateRow {
  session_id: string;
  visible_hash: string;
  visible_turns: string;
  messages: string;
  created_at: number;
}

interface PendingSave {
  state: NewTranscriptState;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class SqliteTranscriptStore implements TranscriptStore {
  readonly #db: Database;
  readonly #now: () => number;
  /** Compiled once: preparing a statement per call was a measurable part of every request. */
  readonly #sql: {
    sessionScope: StatementSync;
    stateByHash: StatementSync;
    latestState: StatementSync;
    findByHash: StatementSync;
    upsertSession: StatementSync;
    insertState: StatementSync;
    prune: StatementSync;
  };
  /** Saves waiting for the next group commit (see `save`). */
  #pending: PendingSave[] = [];

  constructor(db: Database, options: { now?: () => number } = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    migrate(db, 'transcripts', MIGRATIONS);
    this.#sql = {
      sessionScope: db.prepare('SELECT scope FROM transcript_sessions WHERE id = ?'),
      stateByHash: db.prepare(
        'SELECT session_id, visible_hash, visible_turns, messages, created_at FROM transcript_states WHERE session_id = ? AND visible_hash = ? ORDER BY seq DESC LIMIT 1',
      ),
      latestState: db.prepare(
        'SELECT session_id, visible_hash, visible_turns, messages, created_at FROM transcript_states WHERE session_id = ? ORDER BY seq DESC LIMIT 1',
      ),
      findByHash: db.prepare(
        'SELECT session_id, visible_hash, visible_turns, messages, created_at FROM transcript_states WHERE scope = ? AND visible_hash = ? ORDER BY seq DESC LIMIT 1',
      ),
      upsertSession: db.prepare(
        `INSERT INTO transcript_sessions (id, scope, created_at, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at`,
      ),
      insertState: db.prepare(
        'INSERT INTO transcript_states (session_id, scope, visible_hash, visible_turns, messages, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      prune: db.prepare('DELETE FROM transcript_sessions WHERE updated_at < ?'),
    };
  }

  newSessionId(): string {
    return `hs_${randomUUID().replaceAll('-', '')}`;
  }

  async getSession(
    sessionId: string,
    scope: string,
    visibleHash?: string,
  ): Promise<TranscriptState | undefined> {
    const session = this.#sql.sessionScope.get(sessionId) as { scope: string } | undefined;
    if (!session || session.scope !== scope) return undefined;
    if (visibleHash !== undefined) {
      const exact = this.#sql.stateByHash.get(sessionId, visibleHash) as StateRow | undefined;
      if (exact) return toState(exact);
    }
    const latest = this.#sql.latestState.get(sessionId) as StateRow | undefined;
    return latest ? toState(latest) : undefined;
  }

  async findByVisibleHash(scope: string, visibleHash: string): Promise<TranscriptState | undefined> {
    const row = this.#sql.findByHash.get(scope, visibleHash) as StateRow | undefined;
    return row ? toState(row) : undefined;
  }

  /**
   * Resolves once the state is committed. Saves requested in the same event-loop turn share one
   * transaction (a group commit): under load, a commit (and the WAL checkpoints commits trigger) per
   * request was the most expensive part of an API request. Each save still fails alone, through a
   * savepoint, without undoing the others.
   */
  save(state: NewTranscriptState): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#pending.push({ state, resolve, reject }) === 1) setImmediate(() => this.#flush());
    });
  }

  async prune(options: { maxAgeDays: number }): Promise<number> {
    const cutoff = this.#now() - options.maxAgeDays * 24 * 60 * 60 * 1000;
    const result = this.#sql.prune.run(cutoff);
    return Number(result.changes);
  }

  #flush(): void {
    const batch = this.#pending;
    this.#pending = [];
    const outcomes: Array<{ ok: true } | { ok: false; error: unknown }> = [];
    try {
      this.#db.exec('BEGIN');
      try {
        for (const { state } of batch) outcomes.push(this.#insert(state));
        this.#db.exec('COMMIT');
      } catch (error) {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
        throw error;
      }
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    batch.forEach((pending, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) pending.resolve();
      else pending.reject(outcome.error);
    });
  }

  /** One save inside the group transaction, undone alone if it fails. */
  #insert(state: NewTranscriptState): { ok: true } | { ok: false; error: unknown } {
    const now = this.#now();
    this.#db.exec('SAVEPOINT transcript_save');
    try {
      this.#sql.upsertSession.run(state.sessionId, state.scope, now, now);
      this.#sql.insertState.run(
        state.sessionId,
        state.scope,
        state.visibleHash,
        JSON.stringify(state.visibleTurns),
        JSON.stringify(state.messages),
        now,
      );
      this.#db.exec('RELEASE transcript_save');
      return { ok: true };
    } catch (error) {
      // SQLITE_FULL rolls back the whole transaction, savepoint included: fail the batch with it.
      if (!this.#db.isTransaction) throw error;
      this.#db.exec('ROLLBACK TO transcript_save');
      this.#db.exec('RELEASE transcript_save');
      return { ok: false, error };
    }
  }
}

function toState(row: StateRow): TranscriptState {
  return {
    sessionId: row.session_id,
    visibleHash: row.visible_hash,
    visibleTurns: JSON.parse(row.visible_turns) as string[],
    messages: JSON.parse(row.messages) as ChatMessage[],
    createdAt: row.created_at,
  };
}
