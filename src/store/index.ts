/**
 * The store subsystem's front door: stores for Responses API state, chat-completion transcripts and
 * chat-platform sessions behind async interfaces, on SQLite (one process per HERALD_HOME) or on a
 * PostgreSQL database shared by several replicas (`openStores` picks from the config).
 */
export { type Database, openDatabase } from './database.ts';
export { newId } from './new-id.ts';
export {
  CONTROL_TIMEOUT_MS,
  checkPostgres,
  IDEMPOTENCY_TTL_MS,
  openStores,
  type StoreOptions,
  type Stores,
} from './open-stores.ts';
export type { PairingStoreOptions } from './pairing-rows.ts';
export { PostgresApprovalRuleStore } from './postgres-approval-rule-store.ts';
export { openPostgresPool, type PostgresPool } from './postgres-database.ts';
export { PostgresIdempotencyStore } from './postgres-idempotency-store.ts';
export { PostgresPairingStore } from './postgres-pairing-store.ts';
export { PostgresPlatformLeases } from './postgres-platform-leases.ts';
export {
  PostgresReplicaControl,
  type PostgresReplicaControlOptions,
  ReplicaTimeoutError,
} from './postgres-replica-control.ts';
export { PostgresResponseStore, type PostgresResponseStoreOptions } from './postgres-response-store.ts';
export { PostgresRunStore } from './postgres-run-store.ts';
export { PostgresSessionStore } from './postgres-session-store.ts';
export { PostgresTranscriptStore } from './postgres-transcript-store.ts';
export { PostgresTurnLock } from './postgres-turn-lock.ts';
export { ReplicaLease } from './replica-lease.ts';
export { SqliteApprovalRuleStore } from './sqlite-approval-rule-store.ts';
export { SqlitePairingStore, type SqlitePairingStoreOptions } from './sqlite-pairing-store.ts';
export { SqliteResponseStore, type SqliteResponseStoreOptions } from './sqlite-response-store.ts';
export { SqliteRunStore } from './sqlite-run-store.ts';
export { SqliteSessionStore } from './sqlite-session-store.ts';
export {
  type CopyCounts,
  type CopyReport,
  copySqliteToPostgres,
  StoreCopyConflictError,
} from './sqlite-to-postgres-copy.ts';
export * from './sqlite-transcript-store.ts';
export type * from './types.ts';
export { finalRunStatuses, LOCAL_OWNER } from './types.ts';
