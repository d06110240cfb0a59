/**
 * Herald's connections to every server in `mcp_servers:`, as one object the composition root starts
 * and stops and the tool registry asks for the MCP tools available now. `start()` returns at once:
 * servers connect concurrently in the background, so a slow or broken one never delays startup or
 * the others (`ready()` waits for every first attempt, for `herald mcp list` and tests). It does not
 * know toolsets (the registry does).
 */
import type { HeraldConfig } from '../../config/index.ts';
import type { Logger } from '../../logger.ts';
import type { ToolUser } from '../tool-user.ts';
import type { AnyTool } from '../types.ts';
import { McpConnection, type McpConnectionOptions, type McpServerStatus } from './mcp-connection.ts';

export interface McpClientsOptions {
  config: HeraldConfig;
  logger: Logger;
  /** The workspace: stdio servers' default working directory. */
  workspace: string;
  toolUser?: ToolUser;
  version: string;
  /** Test seams: retry pacing of every connection. */
  retryDelayMs?: McpConnectionOptions['retryDelayMs'];
  maxRetryDelayMs?: McpConnectionOptions['maxRetryDelayMs'];
}

export class McpClients {
  readonly #connections: McpConnection[];
  #firstAttempts: Promise<unknown> = Promise.resolve();

  constructor(options: McpClientsOptions) {
    const { config, ...shared } = options;
    this.#connections = Object.entries(config.mcp_servers).map(
      ([name, server]) => new McpConnection({ ...shared, name, config: server }),
    );
  }

  /** Starts connecting every enabled server in the background. */
  start(): void {
    this.#firstAttempts = Promise.all(this.#connections.map((connection) => connection.start()));
  }

  /** Resolves when every server's first connection attempt is over, ready or failed. */
  async ready(): Promise<void> {
    await this.#firstAttempts;
  }

  /** Every MCP tool available now, across servers. */
  tools(): AnyTool[] {
    return this.#connections.flatMap((connection) => [...connection.tools()]);
  }

  status(): McpServerStatus[] {
    return this.#connections.map((connection) => connection.status());
  }

  /** Disconnects every server and ends every stdio server process. */
  async stop(): Promise<void> {
    await Promise.all(this.#connections.map((connection) => connection.stop()));
  }
}
