/**
 * Opens every store Herald serves from, on the backend the config names: SQLite in HERALD_HOME
 * (`herald.db`) by default, or the shared PostgreSQL database of `store.url`. With PostgreSQL it also
 * registers this replica's lease, sweeps up the runs of replicas whose lease expired, and provides
 * what only a shared store needs: the cross-replica turn lock, shared Idempotency-Key results, the chat
 * platforms' leader leases, and a count of the queries sent (`herald_store_queries_total`).
 * Callers see the same interfaces either way; which backend it is matters only here and to `shared`.
 */
import { openDatabase } from './database.ts';
import { PostgresApprovalRuleStore } from './postgres-approval-rule-store.ts';
import { openPostgresPool, type PostgresPool } from './postgres-database.ts';
import { PostgresIdempotencyStore } from './postgres-idempotency-store.ts';
import { PostgresPairingStore } from './postgres-pairing-store.ts';
import { PostgresPlatformLeases } from './postgres-platform-leases.ts';
import { PostgresReplicaControl } from './postgres-replica-control.ts';
import { PostgresResponseStore } from './postgres-response-store.ts';
import { PostgresRunStore } from './postgres-run-store.ts';
import { PostgresSessionStore } from './postgres-session-store.ts';
import { PostgresTranscriptStore } from './postgres-transcript-store.ts';
import { PostgresTurnLock } from './postgres-turn-lock.ts';
import { ReplicaLease } from './replica-lease.ts';
import { SqliteApprovalRuleStore } from './sqlite-approval-rule-store.ts';
import { SqlitePairingStore } from './sqlite-pairing-store.ts';
import { SqliteResponseStore } from './sqlite-response-store.ts';
import { SqliteRunStore } from './sqlite-run-store.ts';
import { SqliteSessionStore } from './sqlite-session-store.ts';
import { SqliteTranscriptStore, type TranscriptStore } from './sqlite-transcript-store.ts';
import type {
  ApprovalRuleStore,
  IdempotencyStore,
  PairingStore,
  PlatformLeases,
  ReplicaControl,
  ResponseStore,
  RetentionPolicy,
  RunStore,
  SessionStore,
  TurnLock,
} from './types.ts';

/** How long an Idempotency-Key result is replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** How long a request waits for the replica running its response or run to act (cancel, stop, …). */
export const CONTROL_TIMEOUT_MS = 30_000;

export interface StoreOptions {
  /** The SQLite file (HERALD_HOME/herald.db), used when `url` is unset. */
  sqliteFile: string;
  /** `postgres://…` (store.url): every store in that database. */
  url?: string | undefined;
  /** PostgreSQL connections for store queries (store.pool_size). */
  poolSize: number;
  /** Lease of this replica in ms (store.lease_s). */
  leaseMs: number;
  /** Turns that may hold a turn lock at once (the API server's run limit). */
  maxTurnHolders: number;
  retention?: RetentionPolicy;
  /** Runs a background sweep marked interrupted (a dead replica's). */
  onRecovered?: (count: number) => void;
  /** A background lease renewal or sweep failed (the next one retries). */
  onError?: (error: unknown) => void;
}

export interface Stores {
  backend: 'sqlite' | 'postgres';
  responses: ResponseStore;
  sessions: SessionStore;
  transcripts: TranscriptStore;
  runs: RunStore;
  approvalRules: ApprovalRuleStore;
  pairing: PairingStore;
  /**
   * Present when replicas share the store: what keeps them from stepping on each other (the turn
   * lock, shared Idempotency-Key results, the chat platforms' leader leases) and lets one act on
   * another's running responses and runs.
   */
  shared?: {
    instanceId: string;
    turnLock: TurnLock;
    idempotency: IdempotencyStore;
    control: ReplicaControl;
    /** Which replica connects each chat platform (leases of `leaseMs`). */
    platformLeases: PlatformLeases;
    /** Queries this replica sent to the database so far (`herald_store_queries_total`). */
    queries: () => number;
  };
  isOpen(): boolean;
  close(): Promise<void>;
}

export async function openStores(options: StoreOptions): Promise<Stores> {
  return options.url ? openPostgresStores(options.url, options) : openSqliteStores(options);
}

function openSqliteStores(options: StoreOptions): Stores {
  const db = openDatabase(options.sqliteFile);
  return {
    backend: 'sqlite',
    responses: new SqliteResponseStore(db, options.retention ? { retention: options.retention } : {}),
    sessions: new SqliteSessionStore(db),
    transcripts: new SqliteTranscriptStore(db),
    runs: new SqliteRunStore(db),
    approvalRules: new SqliteApprovalRuleStore(db),
    pairing: new SqlitePairingStore(db),
    isOpen: () => db.isOpen,
    close: async () => {
      if (db.isOpen) db.close();
    },
  };
}

async function openPostgresStores(url: string, options: StoreOptions): Promise<Stores> {
  let queries = 0;
  const onQuery = (): void => {
    queries++;
  };
  const pool = openPostgresPool(url, { max: options.poolSize, onQuery });
  let open = true;
  let control: PostgresReplicaControl | undefined;
  try {
    // The lease first: the response store's recovery must already count this replica as alive.
    let sweep = async (): Promise<void> => {};
    const lease = await ReplicaLease.start(pool, {
      leaseMs: options.leaseMs,
      onRenewed: () => sweep(),
      ...(options.onError ? { onError: options.onError } : {}),
    });
    const responses = await PostgresResponseStore.open(pool, {
      instanceId: lease.instanceId,
      ...(options.retention ? { retention: options.retention } : {}),
    });
    const idempotency = await PostgresIdempotencyStore.open(pool, lease.instanceId);
    const sessions = await PostgresSessionStore.open(pool);
    const transcripts = await PostgresTranscriptStore.open(pool);
    const runs = await PostgresRunStore.open(pool, lease.instanceId);
    const approvalRules = await PostgresApprovalRuleStore.open(pool);
    const pairing = await PostgresPairingStore.open(pool);
    control = await PostgresReplicaControl.open(pool, url, {
      instanceId: lease.instanceId,
      locate: (target) =>
        target.kind === 'response' ? responses.runningReplica(target.id) : runs.runningReplica(target.id),
      timeoutMs: CONTROL_TIMEOUT_MS,
      ...(options.onError ? { onError: options.onError } : {}),
    });
    const commands = control;
    const platformLeases = await PostgresPlatformLeases.open(pool, {
      holder: lease.instanceId,
      leaseMs: options.leaseMs,
    });
    sweep = async () => {
      const recovered = (await responses.markInterrupted()) + (await runs.markInterrupted());
      if (recovered > 0) options.onRecovered?.(recovered);
      await idempotency.prune(IDEMPOTENCY_TTL_MS);
      await commands.drain();
    };
    const turnLock = new PostgresTurnLock(url, { maxHolders: options.maxTurnHolders, onQuery });
    return {
      backend: 'postgres',
      responses,
      sessions,
      transcripts,
      runs,
      approvalRules,
      pairing,
      shared: {
        instanceId: lease.instanceId,
        turnLock,
        idempotency,
        control,
        platformLeases,
        queries: () => queries,
      },
      isOpen: () => open,
      close: async () => {
        if (!open) return;
        open = false;
        await commands.close();
        // An unreachable database cannot take the lease back; it then simply expires.
        await lease.release().catch((error: unknown) => options.onError?.(error));
        await turnLock.close();
        await pool.end();
      },
    };
  } catch (error) {
    await control?.close();
    await pool.end();
    throw error;
  }
}

/** One round trip to the database and the schema versions applied there (`herald doctor`). */
export async function checkPostgres(
  url: string,
  timeoutMs: number,
): Promise<{ serverVersion: string; versions: Record<string, number> }> {
  const pool: PostgresPool = openPostgresPool(url, { max: 1, timeoutMs });
  try {
    const { rows } = await pool.query<{ server_version: string }>('SHOW server_version');
    const migrated = await pool.query<{ present: boolean }>(
      "SELECT to_regclass('schema_versions') IS NOT NULL AS present",
    );
    const versions = migrated.rows[0]?.present
      ? (
          await pool.query<{ store: string; version: number }>(
            'SELECT store, version FROM schema_versions ORDER BY store',
          )
        ).rows
      : [];
    return {
      serverVersion: rows[0]?.server_version ?? 'unknown',
      versions: Object.fromEntries(versions.map((r) => [r.store, r.version])),
    };
  } finally {
    await pool.end();
  }
}
