/**
 * Stops a command that needs the upstream model before any work when none is configured, with the
 * one line that says how to fix it.
 */
import type { HeraldConfig } from '../config/index.ts';
import { CliError } from './cli-error.ts';

export const howToConfigureModel =
  'run `herald setup`, or set HERALD_BASE_URL, HERALD_API_KEY and HERALD_MODEL (or model: in config.yaml)';

export function requireModel(config: HeraldConfig): void {
  const missing = [!config.model.base_url && 'base URL', !config.model.model && 'model id'].filter(Boolean);
  if (missing.length > 0) {
    throw new CliError(
      'model_not_configured',
      `No upstream model configured (missing ${missing.join(' and ')}): ${howToConfigureModel}`,
    );
  }
}
