/**
 * A replica's lease in the shared PostgreSQL store: each `herald serve` on one database registers an
 * instance id with a lease that it renews periodically. Rows a replica is working on (running
 * responses, idempotent requests in flight) carry its instance id; another replica may treat them as
 * abandoned only once that lease has expired (or the replica has gone away cleanly), never while it
 * lives. Times come from the database's clock, so replicas' clocks need not agree. It does not recover
 * anything itself: stores ask `liveInstancesSql` who is alive.
 */
import { randomUUID } from 'node:crypto';
import { migratePostgres, type PostgresPool } from './postgres-database.ts';

const steps = [
  `CREATE TABLE herald_replicas (
     instance_id TEXT PRIMARY KEY,
     started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     lease_expires_at TIMESTAMPTZ NOT NULL
   );`,
];

/** A subquery: the instance ids whose lease has not expired. */
export const liveInstancesSql = 'SELECT instance_id FROM herald_replicas WHERE lease_expires_at > now()';

export class ReplicaLease {
  readonly instanceId: string;
  readonly #pool: PostgresPool;
  readonly #leaseMs: number;
  #timer: NodeJS.Timeout | undefined;

  private constructor(pool: PostgresPool, leaseMs: number) {
    this.instanceId = `replica_${randomUUID().replaceAll('-', '')}`;
    this.#pool = pool;
    this.#leaseMs = leaseMs;
  }

  /**
   * Registers a new instance and renews its lease every third of `leaseMs`; `onRenewed` runs after each
   * renewal (the store's recovery sweep), `onError` gets a failed renewal or sweep (the next one retries).
   */
  static async start(
    pool: PostgresPool,
    options: { leaseMs: number; onRenewed?: () => Promise<void>; onError?: (error: unknown) => void },
  ): Promise<ReplicaLease> {
    await migratePostgres(pool, 'replicas', steps);
    const lease = new ReplicaLease(pool, options.leaseMs);
    await lease.renew();
    lease.#timer = setInterval(
      () => {
        lease
          .renew()
          .then(options.onRenewed)
          .catch((error: unknown) => options.onError?.(error));
      },
      Math.max(1_000, Math.floor(options.leaseMs / 3)),
    );
    lease.#timer.unref();
    return lease;
  }

  /** Extends the lease to `leaseMs` from now (the database's now). */
  async renew(): Promise<void> {
    await this.#pool.query(
      `INSERT INTO herald_replicas (instance_id, lease_expires_at)
       VALUES ($1, now() + make_interval(secs => $2 / 1000.0))
       ON CONFLICT (instance_id) DO UPDATE SET lease_expires_at = excluded.lease_expires_at`,
      [this.instanceId, this.#leaseMs],
    );
    // Leases of replicas that vanished long ago are only clutter: nothing tells a missing lease from an expired one.
    await this.#pool.query("DELETE FROM herald_replicas WHERE lease_expires_at < now() - interval '1 day'");
  }

  /** Stops renewing and removes the lease: whatever this replica left running is now abandoned. */
  async release(): Promise<void> {
    clearInterval(this.#timer);
    await this.#pool.query('DELETE FROM herald_replicas WHERE instance_id = $1', [this.instanceId]);
  }
}
