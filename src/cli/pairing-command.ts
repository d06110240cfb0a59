/**
 * `herald pairing list | approve <code> | deny <code>`: the operator's side of `dm_policy: pairing`.
 * Works on herald.db directly, so it runs beside a serving Herald (SQLite WAL) and the gateway admits a
 * paired person from their next message. An unknown or expired code is a CLI error.
 */
import type { Writable } from 'node:stream';
import { type HeraldConfig, heraldPaths } from '../config/index.ts';
import { openDatabase, SqlitePairingStore } from '../store/index.ts';
import { CliError } from './cli-error.ts';

export interface PairingCommandOptions {
  action: 'list' | 'approve' | 'deny';
  code?: string;
  output: Writable;
  /** Test clock, passed to the store. */
  now?: () => number;
}

export async function runPairing(config: HeraldConfig, options: PairingCommandOptions): Promise<void> {
  const db = openDatabase(heraldPaths(config.home).database);
  try {
    const store = new SqlitePairingStore(db, options.now ? { now: options.now } : {});
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
    db.close();
  }
}
