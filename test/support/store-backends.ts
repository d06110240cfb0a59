/**
 * The two store backends as the contract suite (test/store-contract.ts) sees them: each opens a fresh,
 * empty database and stores on it, and can open a second connection to the same database (a restart,
 * or another replica). SQLite uses a temp file; PostgreSQL a new database on the process's embedded
 * server (test/support/postgres.ts). Everything opened is closed by `closeAll`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ApprovalRuleStore,
  openDatabase,
  openPostgresPool,
  type PairingStore,
  type PairingStoreOptions,
  PostgresApprovalRuleStore,
  PostgresPairingStore,
  PostgresResponseStore,
  PostgresRunStore,
  PostgresSessionStore,
  PostgresTranscriptStore,
  ReplicaLease,
  type ResponseStore,
  type RetentionPolicy,
  type RunStore,
  type SessionStore,
  SqliteApprovalRuleStore,
  SqlitePairingStore,
  SqliteResponseStore,
  SqliteRunStore,
  SqliteSessionStore,
  SqliteTranscriptStore,
  type TranscriptStore,
} from '../../src/store/index.ts';
import { freshDatabaseUrl, postgresSkipReason } from './postgres.ts';

export interface ResponseStoreOptions {
  retention?: RetentionPolicy;
  pruneEveryPuts?: number;
  now?: () => number;
}

/** One connection to a test database, opening stores on it. */
export interface BackendConnection {
  responses(options?: ResponseStoreOptions): Promise<ResponseStore>;
  sessions(): Promise<SessionStore>;
  transcripts(options?: { now?: () => number }): Promise<TranscriptStore>;
  runs(): Promise<RunStore>;
  approvalRules(): Promise<ApprovalRuleStore>;
  pairing(options?: PairingStoreOptions): Promise<PairingStore>;
  /** A second, independent connection to the same database. */
  connect(): Promise<BackendConnection>;
  close(): Promise<void>;
}

export interface StoreBackend {
  name: string;
  /** A reason to skip this backend's tests, or false. */
  skip: string | false;
  /** A connection to a new, empty database. */
  fresh(): Promise<BackendConnection>;
  /** Closes every connection and removes every database file it made. */
  closeAll(): Promise<void>;
}

export function sqliteBackend(): StoreBackend {
  const dir = mkdtempSync(join(tmpdir(), 'herald-contract-'));
  const connections: BackendConnection[] = [];
  let files = 0;
  const connect = (file: string): BackendConnection => {
    const db = openDatabase(file);
    const connection: BackendConnection = {
      responses: async (options) => new SqliteResponseStore(db, options),
      sessions: async () => new SqliteSessionStore(db),
      transcripts: async (options) => new SqliteTranscriptStore(db, options),
      runs: async () => new SqliteRunStore(db),
      approvalRules: async () => new SqliteApprovalRuleStore(db),
      pairing: async (options) => new SqlitePairingStore(db, options),
      connect: async () => connect(file),
      close: async () => {
        if (db.isOpen) db.close();
      },
    };
    connections.push(connection);
    return connection;
  };
  return {
    name: 'SQLite',
    skip: false,
    fresh: async () => connect(join(dir, `db-${++files}.db`)),
    closeAll: async () => {
      for (const connection of connections) await connection.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function postgresBackend(): StoreBackend {
  const connections: BackendConnection[] = [];
  const connect = async (url: string): Promise<BackendConnection> => {
    const pool = openPostgresPool(url, { max: 4 });
    const lease = await ReplicaLease.start(pool, { leaseMs: 60_000 });
    let closed = false;
    const connection: BackendConnection = {
      responses: (options) => PostgresResponseStore.open(pool, { instanceId: lease.instanceId, ...options }),
      sessions: () => PostgresSessionStore.open(pool),
      transcripts: (options) => PostgresTranscriptStore.open(pool, options),
      runs: () => PostgresRunStore.open(pool, lease.instanceId),
      approvalRules: () => PostgresApprovalRuleStore.open(pool),
      pairing: (options) => PostgresPairingStore.open(pool, options),
      connect: () => connect(url),
      close: async () => {
        if (closed) return;
        closed = true;
        await lease.release();
        await pool.end();
      },
    };
    connections.push(connection);
    return connection;
  };
  return {
    name: 'PostgreSQL',
    skip: postgresSkipReason(),
    fresh: async () => connect(await freshDatabaseUrl()),
    closeAll: async () => {
      for (const connection of connections) await connection.close();
    },
  };
}
