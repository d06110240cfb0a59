/**
 * `herald store migrate`: applies every store's schema migrations to the configured store (the SQLite
 * file in HERALD_HOME, or the PostgreSQL database of `store.url`) and exits, so a deployment can migrate
 * once before rolling out replicas. `herald serve` migrates at start too; running both is harmless
 * (migrations run once, under a lock). `herald store copy` moves a single-node SQLite store into a
 * PostgreSQL database (src/store/sqlite-to-postgres-copy.ts does the copying).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type HeraldConfig, heraldPaths, type LoadedConfig } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import {
  copySqliteToPostgres,
  openDatabase,
  openPostgresPool,
  openStores,
  StoreCopyConflictError,
} from '../store/index.ts';
import { CliError } from './cli-error.ts';
import { openConfiguredStores, storeLocation, storeOptionsOf } from './configured-stores.ts';

export async function migrateStore(
  loaded: LoadedConfig,
  logger: Logger,
  output: NodeJS.WritableStream,
): Promise<void> {
  // Opening migrates every store; closing gives back the replica lease that opening took.
  await (await openConfiguredStores(loaded.config, logger)).close();
  output.write(`Store schema is up to date: ${storeLocation(loaded.config)}\n`);
}

export interface StoreCopyOptions {
  /** `sqlite:<file>` (or a plain path); default HERALD_HOME/herald.db. */
  from?: string | undefined;
  /** `postgres://…`; default store.url. */
  to?: string | undefined;
  /** Replace objects the target holds with different content. */
  force?: boolean | undefined;
}

export async function copyStore(
  config: HeraldConfig,
  logger: Logger,
  options: StoreCopyOptions,
  output: NodeJS.WritableStream,
): Promise<void> {
  const from = resolve(options.from?.replace(/^sqlite:/, '') || heraldPaths(config.home).database);
  if (!existsSync(from)) throw new CliError('invalid_option', `--from: no SQLite store at ${from}.`);
  const to = options.to ?? config.store.url;
  if (!to || !/^postgres(ql)?:\/\//.test(to)) {
    throw new CliError(
      'invalid_option',
      '--to: give the PostgreSQL database to copy into (postgres://…), or set store.url / HERALD_DATABASE_URL.',
    );
  }
  const target = storeLocation({ ...config, store: { ...config.store, url: to } });
  // Both schemas brought up to date first, without retention: a copy must not prune what it moves.
  const base = { ...storeOptionsOf(config, logger), retention: undefined, poolSize: 2 };
  await (await openStores({ ...base, sqliteFile: from, url: undefined })).close();
  const migrated = await openStores({ ...base, url: to }).catch((error: unknown) => {
    throw new CliError(
      'store_unavailable',
      `Could not open the store at ${target}: ${error instanceof Error ? error.message : String(error)}`,
    );
  });
  await migrated.close();

  const db = openDatabase(from);
  const pool = openPostgresPool(to, { max: 2 });
  try {
    const report = await copySqliteToPostgres(db, pool, { force: options.force ?? false });
    output.write(`Copied SQLite ${from} into ${target}:\n`);
    for (const [kind, counts] of Object.entries(report)) {
      output.write(
        `  ${kind.padEnd(14)} ${counts.copied} copied, ${counts.skipped} already there${counts.replaced ? `, ${counts.replaced} replaced` : ''}\n`,
      );
    }
  } catch (error) {
    if (error instanceof StoreCopyConflictError) {
      throw new CliError(
        'store_conflict',
        `${error.message} Nothing was copied; rerun with --force to replace them.`,
      );
    }
    throw error;
  } finally {
    db.close();
    await pool.end();
  }
}
