/**
 * The stores as the config names them, for every command that opens them (`herald serve`, `herald mcp
 * serve`, `herald store migrate`): the SQLite file in HERALD_HOME or `store.url`, pool and lease sizes,
 * retention, where background store trouble is logged, and a database that cannot be opened as one
 * clear CLI error naming the key. `storeLocation` names the store for people, never with its password.
 */
import { type HeraldConfig, heraldPaths } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import { openStores, type StoreOptions, type Stores } from '../store/index.ts';
import { CliError } from './cli-error.ts';

export async function openConfiguredStores(config: HeraldConfig, logger: Logger): Promise<Stores> {
  return openStores(storeOptionsOf(config, logger)).catch((error: unknown) => {
    if (!config.store.url) throw error;
    throw new CliError(
      'store_unavailable',
      `Could not open the store at ${storeLocation(config)} (store.url / HERALD_DATABASE_URL): ${error instanceof Error ? error.message : String(error)}`,
    );
  });
}

/** `PostgreSQL db.internal:5432/herald` or `SQLite <file>`. */
export function storeLocation(config: HeraldConfig): string {
  if (!config.store.url) return `SQLite ${heraldPaths(config.home).database}`;
  const url = new URL(config.store.url);
  return `PostgreSQL ${url.host}${url.pathname}`;
}

export function storeOptionsOf(config: HeraldConfig, logger: Logger): StoreOptions {
  return {
    sqliteFile: heraldPaths(config.home).database,
    url: config.store.url,
    poolSize: config.store.pool_size,
    leaseMs: config.store.lease_s * 1000,
    maxTurnHolders: config.api_server.max_concurrent_runs,
    retention: {
      maxStored: config.api_server.responses.max_stored,
      maxAgeDays: config.api_server.responses.max_age_days,
    },
    onRecovered: (count) =>
      logger.warn(
        { event: 'store.responses_interrupted', count },
        'marked responses of a replica whose lease expired as incomplete (interrupted)',
      ),
    onError: (error) =>
      logger.warn({ event: 'store.background_failed', err: error }, 'store lease renewal or sweep failed'),
  };
}
