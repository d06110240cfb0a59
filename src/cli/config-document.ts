/**
 * Edits HERALD_HOME/config.yaml the way a careful person would: through yaml's Document API, so the
 * user's comments, key order and every key not touched survive a `herald setup` run. A missing file
 * starts from the commented first-run config. It writes only what the caller sets; it validates
 * nothing (the next load does).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { type Document, isMap, isScalar, parseDocument, type YAMLMap } from 'yaml';
import { defaultConfigYaml, type HeraldPaths } from '../config/index.ts';

/** Reads config.yaml as a Document, lets `edit` change it, and writes it back (mode 0600). */
export function editConfigFile(paths: HeraldPaths, edit: (document: Document) => void): void {
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  const text = existsSync(paths.configFile) ? readFileSync(paths.configFile, 'utf8') : defaultConfigYaml();
  const document = parseDocument(text);
  edit(document);
  writeFileSync(paths.configFile, document.toString(), { mode: 0o600 });
}

/**
 * Sets `path` to `value` (undefined deletes it), creating sections on the way. A section written as
 * `model:` with only commented keys under it parses as null; its comments move into the new map.
 */
export function setConfigValue(document: Document, path: readonly string[], value: unknown): void {
  if (value === undefined) {
    if (document.hasIn(path)) document.deleteIn(path);
    return;
  }
  for (let depth = 1; depth < path.length; depth++) {
    const sectionPath = path.slice(0, depth);
    const current = document.getIn(sectionPath, true);
    if (isMap(current)) continue;
    const section = document.createNode({}) as YAMLMap;
    if (isScalar(current) && current.comment) section.comment = current.comment;
    document.setIn(sectionPath, section);
  }
  document.setIn(path, value);
}
