/**
 * What the SQLite and PostgreSQL pairing stores share: the code alphabet and minting, the row shape
 * of a pairing request and its mapping to a `PairingRequest`. No queries.
 */
import { randomInt } from 'node:crypto';
import type { PairingRequest } from './types.ts';

/** How long a code stays valid unless a store is told otherwise. */
export const DEFAULT_PAIRING_TTL_MS = 60 * 60 * 1000;

/** Letters and digits that cannot be mistaken for each other (no 0/O, 1/I/L). */
const alphabet = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const codeLength = 6;

export interface PairingStoreOptions {
  /** How long a code stays valid (default one hour). */
  ttlMs?: number;
  now?: () => number;
}

export interface RequestRow {
  code: string;
  platform: string;
  user_id: string;
  user_name: string | null;
  status: 'pending' | 'denied';
  created_at: number;
  expires_at: number;
}

export function newPairingCode(): string {
  let code = '';
  for (let i = 0; i < codeLength; i++) code += alphabet[randomInt(alphabet.length)];
  return code;
}

export function fromRow(row: RequestRow): PairingRequest {
  return {
    code: row.code,
    platform: row.platform,
    userId: row.user_id,
    userName: row.user_name,
    status: row.status,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
  };
}
