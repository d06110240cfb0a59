/**
 * `herald mcp list` and `herald mcp add`: the operator's view of `mcp_servers:`. `list` connects to
 * every configured server the way `herald serve` would (same isolation), waits for each first attempt
 * and prints its state and tools; `add` writes a new stdio or remote server into config.yaml through
 * yaml's Document API, so the user's comments and other keys survive. `herald mcp serve` lives in
 * its own module.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { isMap, isScalar, parseDocument, type YAMLMap } from 'yaml';
import { configSchema, defaultConfigYaml, type HeraldPaths, type LoadedConfig } from '../config/index.ts';
import { createLogger } from '../logger.ts';
import type { McpServerStatus } from '../tools/index.ts';
import { CliError } from './cli-error.ts';
import { buildToolRegistry } from './compose.ts';

export async function listMcpServers(loaded: LoadedConfig, output: Writable): Promise<void> {
  const { config } = loaded;
  if (Object.keys(config.mcp_servers).length === 0) {
    output.write('No MCP servers configured (add one with `herald mcp add <name> -- <command…>`).\n');
    return;
  }
  const { mcp } = buildToolRegistry(config, createLogger('error'), { interactive: true });
  try {
    await mcp.ready();
    for (const status of mcp.status()) output.write(`${formatStatus(status)}\n`);
  } finally {
    await mcp.stop();
  }
}

/** One server as `name  state (transport)  N tools: a, b` plus its error on the next line. */
export function formatStatus(status: McpServerStatus): string {
  const transport = status.transport ? ` (${status.transport})` : '';
  const tools =
    status.state === 'ready' ? `  ${status.tools.length} tools: ${status.tools.join(', ') || 'none'}` : '';
  const error = status.error ? `\n    ${status.error}` : '';
  return `${status.name}  ${status.state}${transport}${tools}${error}`;
}

export interface McpServerSpec {
  /** The command and its arguments (a stdio server). */
  command?: string[];
  url?: string;
  env?: Record<string, string>;
  headers?: Record<string, string>;
}

/** Adds `mcp_servers.<name>` to config.yaml; refuses a name already there or an invalid entry. */
export function addMcpServer(paths: HeraldPaths, name: string, spec: McpServerSpec): void {
  const [command, ...args] = spec.command ?? [];
  const entry: Record<string, unknown> = command !== undefined ? { command, args } : { url: spec.url };
  if (spec.env && Object.keys(spec.env).length > 0) entry['env'] = spec.env;
  if (spec.headers && Object.keys(spec.headers).length > 0) entry['headers'] = spec.headers;
  const check = configSchema.shape.mcp_servers.safeParse({ [name]: entry });
  if (!check.success) {
    const issue = check.error.issues[0];
    throw new CliError(
      'invalid_mcp_server',
      `Invalid MCP server: ${issue ? `${issue.path.join('.') || name}: ${issue.message}` : 'rejected'}`,
    );
  }

  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  const text = existsSync(paths.configFile) ? readFileSync(paths.configFile, 'utf8') : defaultConfigYaml();
  const document = parseDocument(text);
  const current = document.get('mcp_servers', true);
  if (isMap(current) && current.has(name)) {
    throw new CliError('mcp_server_exists', `mcp_servers.${name} already exists in ${paths.configFile}.`);
  }
  if (!isMap(current)) {
    // `mcp_servers:` with only commented examples parses as null; keep those comments.
    const section = document.createNode({}) as YAMLMap;
    if (isScalar(current) && current.comment) section.comment = current.comment;
    document.set('mcp_servers', section);
  }
  document.setIn(['mcp_servers', name], document.createNode(entry, { flow: false }));
  writeFileSync(paths.configFile, document.toString(), { mode: 0o600 });
}

/** `NAME=value` (or, for headers, `Name: value`) options into a record. */
export function parseAssignments(
  values: readonly string[],
  what: string,
  separator = '=',
): Record<string, string> {
  const record: Record<string, string> = {};
  for (const value of values) {
    const at = value.indexOf(separator);
    if (at <= 0) {
      throw new CliError('invalid_option', `${what} must be NAME${separator}value, got "${value}".`);
    }
    const rest = value.slice(at + 1);
    record[value.slice(0, at).trim()] = separator === ':' ? rest.trim() : rest;
  }
  return record;
}
