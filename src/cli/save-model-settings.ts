/**
 * Writes what `herald setup` chose: `model.base_url` and `model.model` into config.yaml, edited through
 * yaml's Document API so the user's comments and other keys survive, and the API key into
 * HERALD_HOME/.env (mode 0600) as HERALD_API_KEY, so the secret never sits in config.yaml.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isMap, isScalar, parseDocument, type YAMLMap } from 'yaml';
import { defaultConfigYaml, type HeraldPaths } from '../config/index.ts';

export interface ModelSettings {
  baseUrl: string;
  model: string;
  /** Written to .env when given; an empty string removes a stored key. */
  apiKey?: string;
}

export function saveModelSettings(paths: HeraldPaths, settings: ModelSettings): void {
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  const text = existsSync(paths.configFile) ? readFileSync(paths.configFile, 'utf8') : defaultConfigYaml();
  const document = parseDocument(text);
  const current = document.get('model', true);
  if (!isMap(current)) {
    // `model:` with only commented keys under it parses as null; keep those comments under the new map.
    const section = document.createNode({}) as YAMLMap;
    if (isScalar(current) && current.comment) section.comment = current.comment;
    document.set('model', section);
  }
  document.setIn(['model', 'base_url'], settings.baseUrl);
  document.setIn(['model', 'model'], settings.model);
  if (settings.apiKey !== undefined) document.deleteIn(['model', 'api_key']);
  writeFileSync(paths.configFile, document.toString(), { mode: 0o600 });

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
