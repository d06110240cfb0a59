/**
 * `herald store migrate`: applies every store's schema migrations to the configured store (the SQLite
 * file in HERALD_HOME, or the PostgreSQL database of `store.url`) and exits, so a deployment can migrate
 * once before rolling out replicas. `herald serve` migrates at start too; running both is harmless
 * (migrations run once, under a lock). `storeLocation` names the store without its password.
 */
import { type HeraldConfig, heraldPaths, type LoadedConfig } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import { migrateStores } from '../store/index.ts';
import { storeOptionsOf } from './store-options.ts';

export async function migrateStore(
  loaded: LoadedConfig,
  logger: Logger,
  output: NodeJS.WritableStream,
): Promise<void> {
  await migrateStores(storeOptionsOf(loaded.config, logger));
  output.write(`Store schema is up to date: ${storeLocation(loaded.config)}\n`);
}

/** `PostgreSQL db.internal:5432/herald` or the SQLite file, never a password. */
export function storeLocation(config: HeraldConfig): string {
  if (!config.store.url) return `SQLite ${heraldPaths(config.home).database}`;
  const url = new URL(config.store.url);
  return `PostgreSQL ${url.host}${url.pathname}`;
}
