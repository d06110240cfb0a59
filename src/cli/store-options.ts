/**
 * The store options every command that opens the stores derives from the config (`herald serve`,
 * `herald mcp serve`, `herald store migrate`): the SQLite file in HERALD_HOME or `store.url`, pool and
 * lease sizes, retention, and where background store trouble is logged. It opens nothing itself.
 */
import { type HeraldConfig, heraldPaths } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import type { StoreOptions } from '../store/index.ts';

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
