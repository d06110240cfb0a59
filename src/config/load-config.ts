/**
 * Loads the effective config once at start: HERALD_HOME/.env (as env vars that never override the real
 * environment), then config.yaml, then env overrides, validated by the zod schema. Precedence is
 * Herald env vars > config.yaml > other tools' env vars (OPENAI_*, OPENROUTER_API_KEY) > defaults.
 * It records where every value came from and turns the first failure into a one-line ConfigError.
 * On first run it creates HERALD_HOME and a commented config.yaml; an older config.yaml is upgraded
 * (migrate-config.ts) and validated before it is written back. It does not watch for changes.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { type Document, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './config-error.ts';
import { type ConfigVersionEntry, configVersions, envRenames } from './config-versions.ts';
import { defaultConfigYaml } from './default-config-yaml.ts';
import { type EnvOverride, envOverrides, fallbackEnvOverrides } from './env-overrides.ts';
import { applyEnvRenames, migrateConfigDocument, writeMigratedConfig } from './migrate-config.ts';
import { expandTilde, type HeraldPaths, heraldPaths, resolveHome } from './paths.ts';
import { configSchema, type HeraldConfig, isSecretKey } from './schema.ts';
import { describeExpected, objectShape, schemaAt } from './schema-introspection.ts';

export interface LoadedConfig {
  config: HeraldConfig;
  /** Dotted key → `'default'`, `'config.yaml'` or `'env NAME'`, for every leaf of `config`. */
  sources: Record<string, string>;
  /** True when this call created config.yaml (first run). */
  created: boolean;
  /** Things the user should know (an upgraded config.yaml, a renamed env var), one line each. */
  warnings: string[];
}

export interface LoadConfigOptions {
  /** The environment; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** HERALD_HOME; default from `env.HERALD_HOME`, else `~/.herald`. */
  home?: string;
  /** Write a commented config.yaml when there is none (default true). */
  writeDefaults?: boolean;
  /** The version table (tests); default config-versions.ts's. */
  versions?: readonly ConfigVersionEntry[];
}

type RawConfig = Record<string, unknown>;

export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const realEnv = options.env ?? process.env;
  const paths = heraldPaths(resolveHome({ home: options.home, env: realEnv }));
  const created = options.writeDefaults !== false && !existsSync(paths.configFile);
  if (created) {
    mkdirSync(paths.home, { recursive: true, mode: 0o700 });
    writeFileSync(paths.configFile, defaultConfigYaml(), { mode: 0o600, flag: 'wx' });
  }

  const versions = options.versions ?? configVersions;
  const warnings: string[] = [];
  const raw = readConfigFile(paths, versions, warnings);
  const dotenv = readDotenv(paths.envFile);
  const renamed = applyEnvRenames({ ...dotenv, ...nonEmpty(realEnv) }, envRenames(versions));
  warnings.push(...renamed.warnings);
  const env = renamed.env;
  const describeSource = (source: string): string => {
    if (source === 'config.yaml') return paths.configFile;
    const name = source.slice('env '.length);
    return name in dotenv && !realEnv[name] ? `env ${name} in ${paths.envFile}` : source;
  };

  const sources: Record<string, string> = {};
  for (const key of leafKeys(raw)) sources[key] = 'config.yaml';
  const apply = (override: EnvOverride) => {
    setIn(raw, override.key.split('.'), override.value);
    for (const key of Object.keys(sources)) if (key.startsWith(`${override.key}.`)) delete sources[key];
    sources[override.key] = `env ${override.env}`;
  };
  envOverrides(env).forEach(apply);
  fallbackEnvOverrides(env, (key) => getIn(raw, key.split('.')) !== undefined).forEach(apply);

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw toConfigError(result.error.issues[0]!, raw, sources, describeSource);
  }
  const config: HeraldConfig = { ...result.data, home: paths.home };
  config.agent.workspace = resolveWorkspace(paths.home, config.agent.workspace, paths.workspace);
  for (const key of leafKeys(config as unknown as RawConfig)) {
    if (key !== 'home') sources[key] ??= 'default';
  }
  return { config, sources, created, warnings };
}

function readDotenv(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  try {
    return parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
  } catch (error) {
    throw new ConfigError(`Invalid env file ${file}: ${firstLine(error)}`, { cause: error });
  }
}

/**
 * config.yaml as plain data, upgraded first when it is older than the current version (the upgraded
 * file is validated before it replaces the old one). A missing file is an empty config. Empty (null)
 * values count as unset.
 */
function readConfigFile(
  paths: HeraldPaths,
  versions: readonly ConfigVersionEntry[],
  warnings: string[],
): RawConfig {
  const file = paths.configFile;
  if (!existsSync(file)) return {};
  const text = readFileSync(file, 'utf8');
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const syntaxError = document.errors[0];
  if (syntaxError) {
    const line = syntaxError.linePos?.[0]?.line;
    const where = line === undefined ? file : `${file} line ${line}`;
    throw new ConfigError(
      `Invalid YAML in ${where}: ${firstLine(syntaxError).replace(/ at line \d+.*$/, '')}`,
      {
        cause: syntaxError,
      },
    );
  }
  const migration = migrateConfigDocument(document, file, versions);
  const raw = configData(document, file);
  if (!migration) return raw;
  // An invalid file is reported as if it had not been upgraded: the key at fault is what matters.
  const result = configSchema.safeParse(raw);
  if (!result.success) throw toConfigError(result.error.issues[0]!, raw, {}, () => file);
  const done = `Upgraded ${file} from config_version ${migration.from} to ${migration.to}`;
  try {
    const written = writeMigratedConfig(paths, text, document, migration, versions);
    warnings.push(`${done} (the old file is ${written.backup}); \`herald setup\` asks for the new options.`);
    migration.notes.push(...written.notes);
  } catch (error) {
    // A read-only config (a container's mounted file) still loads, upgraded in memory only.
    warnings.push(`${done} in memory only: writing it failed (${firstLine(error)}).`);
  }
  for (const note of migration.notes) warnings.push(`config.yaml upgrade: ${note}`);
  return raw;
}

function configData(document: Document, file: string): RawConfig {
  const data: unknown = document.toJS();
  if (data === null || data === undefined) return {};
  if (!isPlainObject(data)) {
    throw new ConfigError(`Invalid config: ${file} must be a mapping of sections (model:, api_server:, …)`);
  }
  return dropNulls(data);
}

function toConfigError(
  issue: z.core.$ZodIssue,
  raw: RawConfig,
  sources: Record<string, string>,
  describeSource: (source: string) => string,
): ConfigError {
  if (issue.code === 'unrecognized_keys') {
    const path = [...issue.path, issue.keys[0]!];
    const key = path.map(String).join('.');
    const parent = schemaAt(configSchema, issue.path);
    const known = Object.keys((parent && objectShape(parent)) ?? {}).join(', ');
    const source = sourceOf(key, sources) ?? 'config.yaml';
    return new ConfigError(
      `Invalid config: unknown key ${key} (from ${describeSource(source)}): expected one of ${known}`,
      { key },
    );
  }
  const key = issue.path.map(String).join('.');
  const value = getIn(raw, issue.path.map(String));
  const schema = schemaAt(configSchema, issue.path);
  const expected = schema ? describeExpected(schema) : issue.message;
  const source = sourceOf(key, sources) ?? 'config.yaml';
  return new ConfigError(
    `Invalid config: ${key} = ${showValue(key, value)} (from ${describeSource(source)}): expected ${expected}`,
    { key },
  );
}

/** The source of `key` or of the nearest enclosing key that has one (a list element → its list). */
function sourceOf(key: string, sources: Record<string, string>): string | undefined {
  const parts = key.split('.');
  for (let n = parts.length; n > 0; n--) {
    const source = sources[parts.slice(0, n).join('.')];
    if (source) return source;
  }
  return undefined;
}

function showValue(key: string, value: unknown): string {
  const parts = key.split('.');
  const secret = parts.some((_, i) => isSecretKey(parts.slice(0, i + 1).join('.')));
  if (secret && value !== undefined) return '(secret)';
  if (value === undefined) return '(missing)';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function resolveWorkspace(home: string, workspace: string | undefined, fallback: string): string {
  if (!workspace) return fallback;
  const expanded = expandTilde(workspace);
  return isAbsolute(expanded) ? expanded : resolve(home, expanded);
}

/** Dotted keys of every leaf; lists and empty sections count as leaves. */
function leafKeys(value: RawConfig, prefix = ''): string[] {
  const keys: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    const dotted = prefix + key;
    if (isPlainObject(child) && Object.keys(child).length > 0) keys.push(...leafKeys(child, `${dotted}.`));
    else keys.push(dotted);
  }
  return keys;
}

function getIn(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const segment of path) {
    if (isPlainObject(current)) current = current[segment];
    else if (Array.isArray(current)) current = current[Number(segment)];
    else return undefined;
  }
  return current;
}

/** Sets a value at `path`, creating sections on the way (a non-section in the way is replaced). */
function setIn(target: RawConfig, path: readonly string[], value: unknown): void {
  let current = target;
  for (const segment of path.slice(0, -1)) {
    const next = current[segment];
    if (!isPlainObject(next)) current[segment] = {};
    current = current[segment] as RawConfig;
  }
  current[path[path.length - 1]!] = value;
}

function dropNulls(value: RawConfig): RawConfig {
  const out: RawConfig = {};
  for (const [key, child] of Object.entries(value)) {
    if (child === null) continue;
    out[key] = isPlainObject(child) ? dropNulls(child) : child;
  }
  return out;
}

function isPlainObject(value: unknown): value is RawConfig {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The variables that have a value: an empty one (`FOO=` from a container) must not hide .env's. */
function nonEmpty(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value) out[key] = value;
  return out;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
