/**
 * The PostgreSQL `PairingStore` (`dm_policy: pairing` with `store.url`): pairing codes and paired
 * people in the shared database, so `herald pairing approve` on any machine admits the person on
 * whichever replica runs the chat platform. One pending code per person even when two replicas mint at
 * once: the unique (platform, user) row decides, and the loser reads the winner's code.
 */

import {
  DEFAULT_PAIRING_TTL_MS,
  fromRow,
  newPairingCode,
  type PairingStoreOptions,
  type RequestRow,
} from './pairing-rows.ts';
import { inTransaction, migratePostgres, type PostgresPool } from './postgres-database.ts';
import type { PairingRequest, PairingStore } from './types.ts';

const steps = [
  `CREATE TABLE pairing_requests (
     code TEXT PRIMARY KEY,
     platform TEXT NOT NULL,
     user_id TEXT NOT NULL,
     user_name TEXT,
     status TEXT NOT NULL CHECK (status IN ('pending', 'denied')),
     created_at BIGINT NOT NULL,
     expires_at BIGINT NOT NULL,
     UNIQUE (platform, user_id)
   );
   CREATE TABLE paired_users (
     platform TEXT NOT NULL,
     user_id TEXT NOT NULL,
     user_name TEXT,
     paired_at BIGINT NOT NULL,
     PRIMARY KEY (platform, user_id)
   );`,
];

export class PostgresPairingStore implements PairingStore {
  readonly #pool: PostgresPool;
  readonly #ttlMs: number;
  readonly #now: () => number;

  private constructor(pool: PostgresPool, options: PairingStoreOptions) {
    this.#pool = pool;
    this.#ttlMs = options.ttlMs ?? DEFAULT_PAIRING_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  static async open(pool: PostgresPool, options: PairingStoreOptions = {}): Promise<PostgresPairingStore> {
    await migratePostgres(pool, 'pairing', steps);
    return new PostgresPairingStore(pool, options);
  }

  async request(
    platform: string,
    userId: string,
    userName?: string,
  ): Promise<{ request: PairingRequest; fresh: boolean }> {
    const now = this.#now();
    await this.#pool.query('DELETE FROM pairing_requests WHERE expires_at <= $1', [now]);
    for (;;) {
      const row: RequestRow = {
        code: newPairingCode(),
        platform,
        user_id: userId,
        user_name: userName ?? null,
        status: 'pending',
        created_at: now,
        expires_at: now + this.#ttlMs,
      };
      // Nothing is inserted when the person already has a code (or, rarely, the code is taken).
      const inserted = await this.#pool.query(
        `INSERT INTO pairing_requests (code, platform, user_id, user_name, status, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
        [row.code, row.platform, row.user_id, row.user_name, row.status, row.created_at, row.expires_at],
      );
      if ((inserted.rowCount ?? 0) > 0) return { request: fromRow(row), fresh: true };
      const { rows } = await this.#pool.query<RequestRow>(
        'SELECT * FROM pairing_requests WHERE platform = $1 AND user_id = $2',
        [platform, userId],
      );
      if (rows[0]) return { request: fromRow(rows[0]), fresh: false };
    }
  }

  async isPaired(platform: string, userId: string): Promise<boolean> {
    const { rows } = await this.#pool.query(
      'SELECT 1 FROM paired_users WHERE platform = $1 AND user_id = $2',
      [platform, userId],
    );
    return rows.length > 0;
  }

  async pending(): Promise<PairingRequest[]> {
    const { rows } = await this.#pool.query<RequestRow>(
      "SELECT * FROM pairing_requests WHERE status = 'pending' AND expires_at > $1 ORDER BY created_at, code",
      [this.#now()],
    );
    return rows.map(fromRow);
  }

  async approve(code: string): Promise<PairingRequest | undefined> {
    return inTransaction(this.#pool, async (client) => {
      // Deleting the pending row is the claim: of two approvals at once, only one pairs.
      const { rows } = await client.query<RequestRow>(
        "DELETE FROM pairing_requests WHERE code = $1 AND status = 'pending' AND expires_at > $2 RETURNING *",
        [normalized(code), this.#now()],
      );
      const row = rows[0];
      if (!row) return undefined;
      await client.query(
        'INSERT INTO paired_users (platform, user_id, user_name, paired_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
        [row.platform, row.user_id, row.user_name, this.#now()],
      );
      return fromRow(row);
    });
  }

  async deny(code: string): Promise<PairingRequest | undefined> {
    const { rows } = await this.#pool.query<RequestRow>(
      "UPDATE pairing_requests SET status = 'denied' WHERE code = $1 AND status = 'pending' AND expires_at > $2 RETURNING *",
      [normalized(code), this.#now()],
    );
    return rows[0] ? fromRow(rows[0]) : undefined;
  }
}

function normalized(code: string): string {
  return code.trim().toUpperCase();
}
