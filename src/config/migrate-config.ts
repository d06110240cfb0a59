/**
 * Brings an older config.yaml up to the current `config_version`, one version at a time, through yaml's
 * Document API so the user's comments, key order and unrelated keys survive; writes the original aside
 * as `config.yaml.bak-v<N>` before replacing it; renames old env var names in HERALD_HOME/.env. A file
 * from a newer Herald is refused. Validating the result and deciding when to migrate is load-config.ts's
 * job; what each version changes lives in config-versions.ts.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { type Document, isMap, isScalar, type Pair, type Scalar } from 'yaml';
import { ConfigError } from './config-error.ts';
import { type ConfigVersionEntry, type EnvRename, envRenames } from './config-versions.ts';
import type { HeraldPaths } from './paths.ts';

export interface ConfigMigration {
  from: number;
  to: number;
  /** What the steps changed beyond the version number, for the user. */
  notes: string[];
}

/** The marker the migration leaves on `config_version`; the setup wizard reads and clears it. */
const upgradeMarker = /upgraded from version (\d+)/;

/**
 * The `config_version` a document declares: 1 when it has none, undefined when the value is not a
 * positive integer (the schema then reports it with the key named).
 */
export function configVersionOf(document: Document): number | undefined {
  const value: unknown = document.get('config_version');
  if (value === undefined || value === null) return 1;
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 ? value : undefined;
}

/**
 * Migrates `document` in place to the last version of `versions`; undefined when it already is there
 * (or its version is malformed). Throws a ConfigError for a file from a newer Herald.
 */
export function migrateConfigDocument(
  document: Document,
  file: string,
  versions: readonly ConfigVersionEntry[],
): ConfigMigration | undefined {
  // An empty file sets nothing, so there is nothing to upgrade; a non-mapping is load-config's to report.
  if (!isMap(document.contents)) return undefined;
  const to = versions[versions.length - 1]!.version;
  const from = configVersionOf(document);
  if (from === undefined || from === to) return undefined;
  if (from > to) {
    throw new ConfigError(
      `${file} has config_version ${from}, written by a newer Herald (this one reads up to ${to}): upgrade Herald, or restore the backup ${file}.bak-v${to} if there is one.`,
      { key: 'config_version' },
    );
  }
  const notes = versions.filter((v) => v.version > from).flatMap((v) => v.migrate?.(document) ?? []);
  setVersion(document, to, from);
  return { from, to, notes };
}

/** Sets `config_version`, first in the file, marked with the version it was upgraded from. */
function setVersion(document: Document, version: number, from: number): void {
  const map = document.contents as unknown as { items: Pair[] };
  let pair = map.items.find((item) => isScalar(item.key) && item.key.value === 'config_version');
  if (!pair) {
    pair = document.createPair('config_version', version) as Pair;
    // The file's header comment (up to its last blank line) stays on top, above the new key.
    const first = map.items[0]?.key;
    const leading = isScalar(first) ? (first.commentBefore ?? '') : '';
    const split = leading.lastIndexOf('\n\n');
    const header = split === -1 ? '' : `${leading.slice(0, split)}\n\n`;
    if (isScalar(first)) {
      if (header) first.commentBefore = leading.slice(split + 2);
      first.spaceBefore = true;
    }
    (pair.key as Scalar).commentBefore =
      `${header} Format version of this file; Herald upgrades older files at start (keeping a backup).`;
    map.items.unshift(pair);
  }
  const value = document.createNode(version) as Scalar;
  value.comment = ` upgraded from version ${from}; \`herald setup\` asks for what is new since`;
  pair.value = value;
}

/** The version the file was last upgraded from, as marked by a migration and not yet cleared by setup. */
export function upgradedFrom(document: Document): number | undefined {
  const node = document.get('config_version', true);
  const match = isScalar(node) ? upgradeMarker.exec(node.comment ?? '') : null;
  return match ? Number(match[1]) : undefined;
}

/** Removes the upgrade marker (the setup wizard has asked about what is new). */
export function clearUpgradeMark(document: Document): void {
  const node = document.get('config_version', true);
  if (isScalar(node) && upgradeMarker.test(node.comment ?? '')) node.comment = undefined;
}

/**
 * Writes the original text to `config.yaml.bak-v<from>` (kept if it already exists: the first backup
 * of a version is the user's own file), then the migrated document, then renames env vars in .env.
 * Returns the backup's path and a note per variable renamed in .env.
 */
export function writeMigratedConfig(
  paths: HeraldPaths,
  original: string,
  document: Document,
  migration: ConfigMigration,
  versions: readonly ConfigVersionEntry[],
): { backup: string; notes: string[] } {
  const backup = `${paths.configFile}.bak-v${migration.from}`;
  if (!existsSync(backup)) writeFileSync(backup, original, { mode: 0o600 });
  writeFileSync(paths.configFile, document.toString(), { mode: 0o600 });
  const renames = envRenames(versions.filter((v) => v.version > migration.from));
  const notes = existsSync(paths.envFile) ? renameInEnvFile(paths.envFile, renames) : [];
  return { backup, notes };
}

function renameInEnvFile(file: string, renames: readonly EnvRename[]): string[] {
  let text = readFileSync(file, 'utf8');
  const notes: string[] = [];
  for (const { from, to } of renames) {
    const pattern = new RegExp(`^(\\s*(?:export\\s+)?)${from}(\\s*=)`, 'gm');
    if (!pattern.test(text)) continue;
    text = text.replace(pattern, `$1${to}$2`);
    notes.push(`renamed ${from} to ${to} in ${file}`);
  }
  if (notes.length === 0) return [];
  writeFileSync(file, text);
  chmodSync(file, 0o600);
  return notes;
}

/**
 * The environment with every renamed variable also under its new name (the new name wins when both
 * are set), and one warning per old name in use.
 */
export function applyEnvRenames(
  env: Record<string, string>,
  renames: readonly EnvRename[],
): { env: Record<string, string>; warnings: string[] } {
  const out = { ...env };
  const warnings: string[] = [];
  for (const { from, to } of renames) {
    const value = env[from];
    if (value === undefined) continue;
    out[to] ??= value;
    warnings.push(`The env var ${from} is now called ${to}; rename it (the old name still works for now).`);
  }
  return { env: out, warnings };
}
