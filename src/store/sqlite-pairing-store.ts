/**
 * Pairing of strangers on chat platforms (`dm_policy: pairing`): a stranger's first DM gets a short
 * code, kept here with an expiry; `herald pairing approve <code>` moves them to the paired users, who
 * the gateway then treats as allow-listed; `deny` keeps them silent until the code expires. One pending
 * code per person, so repeated DMs do not mint new codes. It does not talk to anyone; the gateway does.
 */
import { type Database, migrate, writeTransaction } from './database.ts';
import {
  DEFAULT_PAIRING_TTL_MS,
  fromRow,
  newPairingCode,
  type PairingStoreOptions,
  type RequestRow,
} from './pairing-rows.ts';
import type { PairingRequest, PairingStore } from './types.ts';

const steps = [
  `CREATE TABLE pairing_requests (
     code TEXT PRIMARY KEY,
     platform TEXT NOT NULL,
     user_id TEXT NOT NULL,
     user_name TEXT,
     status TEXT NOT NULL CHECK (status IN ('pending', 'denied')),
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     UNIQUE (platform, user_id)
   );
   CREATE TABLE paired_users (
     platform TEXT NOT NULL,
     user_id TEXT NOT NULL,
     user_name TEXT,
     paired_at INTEGER NOT NULL,
     PRIMARY KEY (platform, user_id)
   );`,
];

export type SqlitePairingStoreOptions = PairingStoreOptions;

export class SqlitePairingStore implements PairingStore {
  readonly #db: Database;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(db: Database, options: SqlitePairingStoreOptions = {}) {
    this.#db = db;
    this.#ttlMs = options.ttlMs ?? DEFAULT_PAIRING_TTL_MS;
    this.#now = options.now ?? Date.now;
    migrate(db, 'pairing', steps);
  }

  /**
   * The person's code: `fresh` when minted now (send it), not fresh when one is still pending or was
   * denied (stay silent).
   */
  async request(
    platform: string,
    userId: string,
    userName?: string,
  ): Promise<{ request: PairingRequest; fresh: boolean }> {
    const now = this.#now();
    let result!: { request: PairingRequest; fresh: boolean };
    writeTransaction(this.#db, () => {
      this.#db.prepare('DELETE FROM pairing_requests WHERE expires_at <= ?').run(now);
      const existing = this.#db
        .prepare('SELECT * FROM pairing_requests WHERE platform = ? AND user_id = ?')
        .get(platform, userId) as RequestRow | undefined;
      if (existing) {
        result = { request: fromRow(existing), fresh: false };
        return;
      }
      let code = newPairingCode();
      while (this.#db.prepare('SELECT 1 FROM pairing_requests WHERE code = ?').get(code))
        code = newPairingCode();
      const row: RequestRow = {
        code,
        platform,
        user_id: userId,
        user_name: userName ?? null,
        status: 'pending',
        created_at: now,
        expires_at: now + this.#ttlMs,
      };
      this.#db
        .prepare(
          'INSERT INTO pairing_requests (code, platform, user_id, user_name, status, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(row.code, row.platform, row.user_id, row.user_name, row.status, row.created_at, row.expires_at);
      result = { request: fromRow(row), fresh: true };
    });
    return result;
  }

  async isPaired(platform: string, userId: string): Promise<boolean> {
    return (
      this.#db
        .prepare('SELECT 1 FROM paired_users WHERE platform = ? AND user_id = ?')
        .get(platform, userId) !== undefined
    );
  }

  /** Pending (unexpired) requests, oldest first. */
  async pending(): Promise<PairingRequest[]> {
    const rows = this.#db
      .prepare(
        "SELECT * FROM pairing_requests WHERE status = 'pending' AND expires_at > ? ORDER BY created_at",
      )
      .all(this.#now()) as unknown as RequestRow[];
    return rows.map(fromRow);
  }

  /** Pairs the person behind a pending code; undefined for an unknown, expired or denied code. */
  async approve(code: string): Promise<PairingRequest | undefined> {
    const request = await this.#pendingByCode(code);
    if (!request) return undefined;
    writeTransaction(this.#db, () => {
      this.#db.prepare('DELETE FROM pairing_requests WHERE code = ?').run(request.code);
      this.#db
        .prepare(
          'INSERT INTO paired_users (platform, user_id, user_name, paired_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
        )
        .run(request.platform, request.userId, request.userName, this.#now());
    });
    return request;
  }

  /** Refuses a pending code: its person gets no answer until it expires. */
  async deny(code: string): Promise<PairingRequest | undefined> {
    const request = await this.#pendingByCode(code);
    if (!request) return undefined;
    this.#db.prepare("UPDATE pairing_requests SET status = 'denied' WHERE code = ?").run(request.code);
    return { ...request, status: 'denied' };
  }

  async #pendingByCode(code: string): Promise<PairingRequest | undefined> {
    const row = this.#db
      .prepare("SELECT * FROM pairing_requests WHERE code = ? AND status = 'pending' AND expires_at > ?")
      .get(code.trim().toUpperCase(), this.#now()) as RequestRow | undefined;
    return row ? fromRow(row) : undefined;
  }
}
