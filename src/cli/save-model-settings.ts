/**
 * Writes what `herald setup` chose: `model.base_url` and `model.model` into config.yaml, edited through
 * yaml's Document API so the user's comments and other keys survive, and the API key into
 * HERALD_HOME/.env (mode 0600) as HERALD_API_KEY, so the secret never sits in config.yaml.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { HeraldPaths } from '../config/index.ts';
import { editConfigFile, setConfigValue } from './config-document.ts';

export interface ModelSettings {
  baseUrl: string;
  model: string;
  /** Written to .env when given; an empty string removes a stored key. */
  apiKey?: string;
}

export function saveModelSettings(paths: HeraldPaths, settings: ModelSettings): void {
  editConfigFile(paths, (document) => {
    setConfigValue(document, ['model', 'base_url'], settings.baseUrl);
    setConfigValue(document, ['model', 'model'], settings.model);
    // The key goes to .env; a stale one in config.yaml would only confuse.
    if (settings.apiKey !== undefined) setConfigValue(document, ['model', 'api_key'], undefined);
  });
  if (settings.apiKey !== undefined) setEnvFileValue(paths.envFile, 'HERALD_API_KEY', settings.apiKey);
}

/** Sets (or, with an empty value, removes) `NAME=value` in a .env file, keeping its other lines. */
export function setEnvFileValue(file: string, name: string, value: string): void {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n') : [];
  const kept = lines.filter((line) => !new RegExp(`^\\s*(export\\s+)?${name}\\s*=`).test(line));
  while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop();
  if (value) kept.push(`${name}=${/^[\w.:/+=@-]*$/.test(value) ? value : JSON.stringify(value)}`);
  writeFileSync(file, kept.length > 0 ? `${kept.join('\n')}\n` : '', { mode: 0o600 });
  // writeFileSync's mode applies only when it creates the file; an existing .env may be world-readable.
  chmodSync(file, 0o600);
}
