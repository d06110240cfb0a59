/**
 * The commented config.yaml written on first run. Every section and key of schema.ts appears, each
 * with what it does, its env var and its default, all commented out: the file loads back to the
 * defaults, and later default changes reach users who never edited a key. Generated from the schema
 * and config-key-docs.ts rather than kept as a literal so it cannot drift. Only `config_version` is
 * set: it tells later Herald versions which format the file is in.
 */

import { stringify } from 'yaml';
import type { z } from 'zod';
import { keyDocs, keyExamples, recordExamples, sectionDocs } from './config-key-docs.ts';
import { envBindings, fallbackEnvBindings } from './env-overrides.ts';
import { CONFIG_VERSION, configSchema } from './schema.ts';
import { objectShape } from './schema-introspection.ts';

export function defaultConfigYaml(): string {
  const defaults: Record<string, unknown> = configSchema.parse({});
  const lines = [
    '# Herald configuration. Every key is optional: remove the leading "# " to set one.',
    '# Precedence: environment variables > this file > defaults. Secrets are better kept in .env beside it.',
    '# `herald config show` prints the effective values and where each comes from.',
    '',
    `# ${keyDocs['config_version']}`,
    `config_version: ${CONFIG_VERSION}`,
  ];
  for (const [section, schema] of Object.entries(configSchema.shape)) {
    if (section === 'config_version') continue;
    lines.push('', `# ${sectionDocs[section] ?? section}`, `${section}:`);
    const examples = recordExamples[section];
    if (examples) lines.push(...examples.map((line) => `  # ${line}`));
    else emitKeys(lines, schema, [section], 1, defaults[section]);
  }
  return `${lines.join('\n')}\n`;
}

/** Writes the keys of one object schema as commented lines, recursing into nested sections. */
function emitKeys(
  lines: string[],
  schema: z.ZodType,
  path: string[],
  depth: number,
  defaults: unknown,
): void {
  const shape = objectShape(schema) ?? {};
  const pad = '  '.repeat(depth - 1);
  for (const [key, child] of Object.entries(shape)) {
    const dotted = [...path, key].join('.');
    const value = isRecord(defaults) ? defaults[key] : undefined;
    if (objectShape(child) && !(dotted in keyExamples)) {
      lines.push(`  # ${pad}${key}:`);
      emitKeys(lines, child, [...path, key], depth + 1, value);
      continue;
    }
    const text = value === undefined ? (keyExamples[dotted] ?? '') : stringify(value, { flow: true }).trim();
    const doc = [keyDocs[dotted], envNote(dotted)].filter(Boolean).join(' ');
    if (depth === 1) {
      if (doc) lines.push(`  # ${doc}`);
      lines.push(`  # ${key}: ${text}`.trimEnd());
    } else {
      lines.push(`  # ${pad}${key}: ${text}${doc ? `  # ${doc}` : ''}`);
    }
  }
}

function envNote(dotted: string): string {
  const names = [...envBindings, ...fallbackEnvBindings].filter((b) => b.key === dotted).map((b) => b.env);
  return names.length > 0 ? `Env: ${names.join(', ')}.` : '';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
