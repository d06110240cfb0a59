/**
 * `herald config show` text: the effective config as YAML-like lines, each value followed by where it
 * came from (`# default`, `# config.yaml`, `# env NAME`), with secrets masked (last four characters at
 * most). Keys with no value are listed as `~  # not set` so a user sees what could be set. This is for
 * humans; it is not meant to be parsed back.
 */

import { stringify } from 'yaml';
import type { z } from 'zod';
import type { LoadedConfig } from './load-config.ts';
import { configSchema, isSecretKey } from './schema.ts';
import { objectShape, recordValue } from './schema-introspection.ts';

export function formatConfig(loaded: LoadedConfig): string {
  const lines = [`# HERALD_HOME: ${loaded.config.home}`];
  const { home: _home, ...config } = loaded.config;
  writeSection(lines, configSchema, config, [], loaded.sources);
  return `${lines.join('\n')}\n`;
}

/** Masks a secret: long values keep their last four characters, short ones only say they are set. */
function maskSecret(value: string): string {
  return value.length >= 12 ? `****${value.slice(-4)}` : '(set)';
}

function writeSection(
  lines: string[],
  schema: z.ZodType | undefined,
  value: Record<string, unknown>,
  path: string[],
  sources: Record<string, string>,
): void {
  const shape = schema ? objectShape(schema) : undefined;
  const valueSchema = schema ? recordValue(schema) : undefined;
  const keys = shape ? Object.keys(shape) : Object.keys(value);
  const indent = '  '.repeat(path.length);
  for (const key of keys) {
    const childPath = [...path, key];
    const dotted = childPath.join('.');
    const child = value[key];
    const childSchema = shape ? shape[key] : valueSchema;
    if (isPlainObject(child) && Object.keys(child).length > 0 && !isSecretKey(dotted)) {
      lines.push(`${indent}${key}:`);
      writeSection(lines, childSchema, child, childPath, sources);
      continue;
    }
    if (child === undefined) {
      lines.push(`${indent}${key}: ~  # not set`);
      continue;
    }
    const shown = isSecretKey(dotted) ? maskValue(child) : child;
    lines.push(
      `${indent}${key}: ${stringify(shown, { flow: true }).trim()}  # ${sources[dotted] ?? 'default'}`,
    );
  }
}

function maskValue(value: unknown): unknown {
  if (typeof value === 'string') return maskSecret(value);
  if (Array.isArray(value))
    return value.map((item) => (typeof item === 'string' ? maskSecret(item) : '(set)'));
  return '(set)';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
