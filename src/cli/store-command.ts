/**
 * `herald store migrate`: applies every store's schema migrations to the configured store (the SQLite
 * file in HERALD_HOME, or the PostgreSQL database of `store.url`) and exits, so a deployment can migrate
 * once before rolling out replicas. `herald serve` migrates at start too; running both is harmless
 * (migrations run once, under a lock).
 */
import type { LoadedConfig } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import { openConfiguredStores, storeLocation } from './configured-stores.ts';

export async function migrateStore(
  loaded: LoadedConfig,
  logger: Logger,
  output: NodeJS.WritableStream,
): Promise<void> {
  // Opening migrates every store; closing gives back the replica lease that opening took.
  await (await openConfiguredStores(loaded.config, logger)).close();
  output.write(`Store schema is up to date: ${storeLocation(loaded.config)}\n`);
}
