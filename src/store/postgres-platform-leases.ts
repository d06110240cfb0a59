/**
 * `PlatformLeases` on PostgreSQL: one row per chat platform (`platform_leases`) naming the replica
 * that may connect it and until when. A claim is one upsert that succeeds only when the row is free,
 * expired or already this replica's, so two replicas claiming at once never both win; times come from
 * the database's clock. It does not start or stop platforms: the gateway's PlatformLeader does.
 */
import { migratePostgres, type PostgresPool } from './postgres-database.ts';
import type { PlatformLeases } from './types.ts';

const steps = [
  `CREATE TABLE platform_leases (
     platform TEXT PRIMARY KEY,
     instance_id TEXT NOT NULL,
     lease_expires_at TIMESTAMPTZ NOT NULL
   );`,
];

export class PostgresPlatformLeases implements PlatformLeases {
  readonly holder: string;
  readonly leaseMs: number;
  readonly #pool: PostgresPool;

  private constructor(pool: PostgresPool, holder: string, leaseMs: number) {
    this.#pool = pool;
    this.holder = holder;
    this.leaseMs = leaseMs;
  }

  static async open(
    pool: PostgresPool,
    options: { holder: string; leaseMs: number },
  ): Promise<PostgresPlatformLeases> {
    await migratePostgres(pool, 'platform_leases', steps);
    return new PostgresPlatformLeases(pool, options.holder, options.leaseMs);
  }

  async claim(platform: string): Promise<string> {
    // The holder after the upsert, whether it changed the row or not: the CTE's outer SELECT sees the
    // row as it was before, which is the other replica's when the claim did not apply.
    const { rows } = await this.#pool.query<{ instance_id: string; claimed: boolean }>(
      `WITH claimed AS (
         INSERT INTO platform_leases (platform, instance_id, lease_expires_at)
         VALUES ($1, $2, now() + make_interval(secs => $3 / 1000.0))
         ON CONFLICT (platform) DO UPDATE
           SET instance_id = excluded.instance_id, lease_expires_at = excluded.lease_expires_at
           WHERE platform_leases.instance_id = excluded.instance_id OR platform_leases.lease_expires_at <= now()
         RETURNING instance_id
       )
       SELECT instance_id, true AS claimed FROM claimed
       UNION ALL
       SELECT instance_id, false AS claimed FROM platform_leases WHERE platform = $1`,
      [platform, this.holder, this.leaseMs],
    );
    const holder = (rows.find((row) => row.claimed) ?? rows[0])?.instance_id;
    if (holder !== undefined) return holder;
    // A first claim that lost a race with another replica's: the row is newer than this statement's snapshot.
    const latest = await this.#pool.query<{ instance_id: string }>(
      'SELECT instance_id FROM platform_leases WHERE platform = $1',
      [platform],
    );
    return latest.rows[0]?.instance_id ?? '';
  }

  async release(platform: string): Promise<void> {
    await this.#pool.query('DELETE FROM platform_leases WHERE platform = $1 AND instance_id = $2', [
      platform,
      this.holder,
    ]);
  }
}
