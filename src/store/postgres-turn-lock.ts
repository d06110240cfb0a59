/**
 * The cross-replica `TurnLock` on PostgreSQL: a transaction-scoped advisory lock
 * (`pg_advisory_xact_lock`) keyed by a hash of the turn's queue key, held for the whole turn on a
 * connection of its own. A replica that dies loses its connection and with it the lock, so nothing is
 * left locked. The connections come from a separate small pool: a turn's own store queries must never
 * wait for a connection held by a lock (that would deadlock under load).
 */
import { openPostgresPool, type PostgresPool } from './postgres-database.ts';
import type { TurnLock } from './types.ts';

export class PostgresTurnLock implements TurnLock {
  readonly #pool: PostgresPool;

  /** `maxHolders`: turns that may hold or wait for a lock at once in this replica (its run limit). */
  constructor(url: string, options: { maxHolders: number; onQuery?: () => void }) {
    this.#pool = openPostgresPool(url, {
      max: options.maxHolders,
      ...(options.onQuery ? { onQuery: options.onQuery } : {}),
    });
  }

  async hold<T>(key: string, work: () => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    // A connection lost while checked out emits 'error'; unheard, that would crash the process.
    const lost: Error[] = [];
    const onError = (error: Error): void => {
      lost.push(error);
    };
    client.on('error', onError);
    let discard: Error | undefined;
    try {
      await client.query('BEGIN');
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended('herald.turn:' || $1, 0))", [key]);
      return await work();
    } finally {
      // Ending the transaction releases the lock. If the connection died, the server already released
      // it: the client is discarded, and the turn's own outcome (already stored) stands.
      await client.query('COMMIT').catch((error: Error) => {
        discard = error;
      });
      client.off('error', onError);
      client.release(discard ?? lost[0]);
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
