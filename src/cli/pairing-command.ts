/**
 * `herald pairing list | approve <code> | deny <code>`: the operator's side of `dm_policy: pairing`.
 * Works on the store directly (herald.db, or the shared database of `store.url`), so it runs beside a
 * serving Herald and the gateway admits a paired person from their next message. An unknown or expired
 * code is a CLI error.
 */
import type { Writable } from 'node:stream';
import { type HeraldConfig, heraldPaths } from '../config/index.ts';
import {
  openDatabase,
  openPostgresPool,
  type PairingStore,
  PostgresPairingStore,
  SqlitePairingStore,
} from '../store/index.ts';
import { CliError } from './cli-error.ts';

export interface PairingCommandOptions {
  action: 'list' | 'approve' | 'deny';
  code?: string;
  output: Writable;
  /** Test clock, passed to the store. */
  now?: () => number;
}

export async function runPairing(config: HeraldConfig, options: PairingCommandOptions): Promise<void> {
  const { store, close } = await openPairingStore(config, options.now ? { now: options.now } : {});
  try {
    const { output } = options;
    if (options.action === 'list') {
      const pending = await store.pending();
      if (pending.length === 0) output.write('No pending pairing codes.\n');
      for (const request of pending) {
        const minutes = Math.max(0, Math.round((request.expiresAt - Date.now()) / 60_000));
        const who = request.userName ? `${request.userId} (@${request.userName})` : request.userId;
        output.write(`${request.code}  ${request.platform}  ${who}  expires in ${minutes} min\n`);
      }
      return;
    }
    const code = options.code ?? '';
    const request = options.action === 'approve' ? await store.approve(code) : await store.deny(code);
    if (!request) {
      throw new CliError('pairing_code_unknown', `No pending pairing code ${code} (it may have expired).`);
    }
    output.write(
      options.action === 'approve'
        ? `Paired ${request.platform} user ${request.userId}; they can talk to the bot now.\n`
        : `Denied ${request.code}; ${request.platform} user ${request.userId} gets no answer until it expires.\n`,
    );
  } finally {
    await close();
  }
}

async function openPairingStore(
  config: HeraldConfig,
  options: { now?: () => number },
): Promise<{ store: PairingStore; close: () => Promise<void> }> {
  if (config.store.url) {
    const pool = openPostgresPool(config.store.url, { max: 1 });
    try {
      return { store: await PostgresPairingStore.open(pool, options), close: () => pool.end() };
    } catch (error) {
      await pool.end();
      throw error;
    }
  }
  const db = openDatabase(heraldPaths(config.home).database);
  return { store: new SqlitePairingStore(db, options), close: async () => db.close() };
}
