/**
 * The store subsystem's front door: SQLite-backed stores for Responses API state, chat-completion
 * transcripts and chat-platform sessions, behind async interfaces.
 */
export { type Database, openDatabase } from './database.ts';
export { newId } from './new-id.ts';
export { SqliteApprovalRuleStore } from './sqlite-approval-rule-store.ts';
export {
  type PairingRequest,
  SqlitePairingStore,
  type SqlitePairingStoreOptions,
} from './sqlite-pairing-store.ts';
export { SqliteResponseStore, type SqliteResponseStoreOptions } from './sqlite-response-store.ts';
export {
  finalRunStatuses,
  type RunEvent,
  type RunStatus,
  type RunUpdate,
  SqliteRunStore,
  type StoredRun,
} from './sqlite-run-store.ts';
export { SqliteSessionStore } from './sqlite-session-store.ts';
export * from './sqlite-transcript-store.ts';
export type * from './types.ts';
export { LOCAL_OWNER } from './types.ts';
