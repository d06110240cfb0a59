/**
 * Store contracts. The SQLite implementations sit beside this file; the interfaces are async so a
 * PostgreSQL implementation can serve several gateway replicas later without changing callers.
 */
import type { ChatMessage } from '../model/types.ts';

/** History of one chat-platform conversation (key: platform + chat + thread [+ user in groups]). */
export interface SessionStore {
  /** The conversation's messages, oldest first; the last `limit` when given. */
  load(key: string, limit?: number): Promise<ChatMessage[]>;
  append(key: string, messages: ChatMessage[]): Promise<void>;
  /** Forgets the conversation (`/new`). */
  reset(key: string): Promise<void>;
  /** Number of stored messages, for `/status`. */
  count(key: string): Promise<number>;
}
