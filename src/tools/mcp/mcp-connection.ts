/**
 * One configured MCP server over its whole life: connect (in the background, never blocking anyone),
 * list its tools as Herald tools named `<server>__<tool>`, refresh them on `notifications/tools/list_changed`,
 * and when the connection drops or never comes up (a crashed stdio child, an unreachable URL) retry
 * with exponential backoff while calls fail at once with a tool result that says why. Remote servers
 * are tried over Streamable HTTP first and over the older HTTP+SSE transport when that fails
 * (`transport: auto`). Calls carry the run's AbortSignal, which the SDK turns into
 * `notifications/cancelled`, and the server's `timeout_s`. It does not decide which runs see the
 * tools (the registry does).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport, SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  type CallToolResult,
  ErrorCode,
  McpError,
  type Tool as McpTool,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { McpServerConfig } from '../../config/index.ts';
import type { Logger } from '../../logger.ts';
import { ToolError } from '../errors.ts';
import { toolEnv } from '../tool-env.ts';
import type { ToolUser } from '../tool-user.ts';
import type { AnyTool } from '../types.ts';
import { ChildProcessTransport } from './child-process-transport.ts';
import { createMcpTool } from './mcp-tool.ts';

export type McpServerState = 'connecting' | 'ready' | 'failed' | 'disabled' | 'stopped';

export interface McpServerStatus {
  name: string;
  state: McpServerState;
  /** `stdio` or the transport a remote server answered on. */
  transport: 'stdio' | 'streamable-http' | 'sse' | undefined;
  /** The server's own tool names. */
  tools: string[];
  /** Why the server is not ready (its last error). */
  error?: string;
}

export interface McpConnectionOptions {
  name: string;
  config: McpServerConfig;
  logger: Logger;
  /** Working directory of stdio servers without `cwd` (the workspace); relative `cwd`s are under it. */
  workspace: string;
  /** The user stdio servers run as (`tools.run_as`); undefined = Herald's own. */
  toolUser?: ToolUser;
  /** Herald's version, sent as the client version. */
  version: string;
  /** First retry delay; doubles per failure up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
}

export class McpConnection {
  readonly name: string;
  readonly #options: McpConnectionOptions;
  #state: McpServerState = 'connecting';
  #transportName: McpServerStatus['transport'];
  #client: Client | undefined;
  #tools: AnyTool[] = [];
  #error: string | undefined;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #connecting: Promise<void> | undefined;
  /** Aborted by `stop()`, so a connection attempt still waiting on a mute server ends at once. */
  readonly #stopped = new AbortController();
  /** The stdio transport of the latest attempt, whose stderr explains a failure. */
  #child: ChildProcessTransport | undefined;

  constructor(options: McpConnectionOptions) {
    this.name = options.name;
    this.#options = options;
    if (!options.config.enabled) this.#state = 'disabled';
  }

  /** Starts connecting in the background; resolves when the first attempt is over, ready or not. */
  start(): Promise<void> {
    if (this.#state === 'disabled') return Promise.resolve();
    this.#connecting ??= this.#connect();
    return this.#connecting;
  }

  /** The server's tools while it is ready; none otherwise. */
  tools(): readonly AnyTool[] {
    return this.#state === 'ready' ? this.#tools : [];
  }

  status(): McpServerStatus {
    return {
      name: this.name,
      state: this.#state,
      transport: this.#transportName,
      tools: this.#tools.map((tool) => tool.origin?.tool ?? tool.name),
      ...(this.#error !== undefined && this.#state !== 'ready' ? { error: this.#error } : {}),
    };
  }

  /** Calls one of the server's tools; throws a `ToolError` the model can read when it cannot. */
  async callTool(tool: string, args: Record<string, unknown>, signal: AbortSignal): Promise<CallToolResult> {
    const client = this.#client;
    if (this.#state !== 'ready' || !client) {
      throw new ToolError(
        'mcp_unavailable',
        `The MCP server "${this.name}" is not available right now (${this.#state}${this.#error ? `: ${this.#error}` : ''}). ` +
          'Herald keeps reconnecting to it; try again later or do without this tool.',
      );
    }
    const timeoutS = this.#options.config.timeout_s;
    try {
      return (await client.callTool({ name: tool, arguments: args }, undefined, {
        signal,
        timeout: timeoutS * 1000,
      })) as CallToolResult;
    } catch (error) {
      if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
        throw new ToolError(
          'timeout',
          `The MCP tool ${this.name}/${tool} did not answer within ${timeoutS} s.`,
        );
      }
      if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed) {
        throw new ToolError(
          'mcp_unavailable',
          `The MCP server "${this.name}" went away during the call (${this.#error ?? 'connection closed'}); Herald is restarting it.`,
        );
      }
      throw error;
    }
  }

  /** Disconnects (a stdio server's process group is ended) and stops retrying. */
  async stop(): Promise<void> {
    clearTimeout(this.#retryTimer);
    if (this.#state !== 'disabled') this.#state = 'stopped';
    this.#stopped.abort();
    await this.#connecting?.catch(() => {});
    const client = this.#client;
    this.#client = undefined;
    await client?.close().catch(() => {});
  }

  async #connect(): Promise<void> {
    const { logger } = this.#options;
    this.#state = 'connecting';
    const client = new Client({ name: 'herald', version: this.#options.version }, { capabilities: {} });
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      if (this.#client !== client) return;
      this.#refreshTools(client).catch((error: unknown) => {
        // The old list stays; a dropped connection is handled by onclose.
        this.#options.logger.warn(
          { event: 'mcp.server.list_failed', server: this.name, error: String(error) },
          'could not refresh MCP tools',
        );
      });
    });
    client.onclose = () => this.#lost(client);
    try {
      await this.#open(client);
      if (this.#stopped.signal.aborted) {
        await client.close();
        return;
      }
      this.#client = client;
      await this.#refreshTools(client);
      this.#state = 'ready';
      this.#failures = 0;
      this.#error = undefined;
      logger.info(
        {
          event: 'mcp.server.ready',
          server: this.name,
          transport: this.#transportName,
          tools: this.#tools.length,
        },
        'MCP server connected',
      );
    } catch (error) {
      if (this.#client === client) this.#client = undefined;
      await client.close().catch(() => {});
      if (this.#stopped.signal.aborted) return;
      this.#error = this.#explain(error);
      this.#state = 'failed';
      logger.warn(
        { event: 'mcp.server.failed', server: this.name, error: this.#error },
        'MCP server unavailable',
      );
      this.#scheduleRetry();
    } finally {
      this.#connecting = undefined;
    }
  }

  /** Connects over the configured transport (for `auto` remotes: Streamable HTTP, then SSE). */
  async #open(client: Client): Promise<void> {
    const { config } = this.#options;
    const options = { timeout: config.timeout_s * 1000, signal: this.#stopped.signal };
    if (config.command !== undefined) {
      this.#transportName = 'stdio';
      this.#child = this.#stdioTransport(config.command);
      // spawn reports a missing cwd as the command missing (ENOENT); say which it is.
      if (!(await isDirectory(this.#child.cwd))) {
        throw new Error(`its working directory ${this.#child.cwd} does not exist`);
      }
      await client.connect(this.#child, options);
      return;
    }
    const url = new URL(config.url ?? '');
    const headers = { ...config.headers };
    if (config.bearer_token) headers['Authorization'] = `Bearer ${config.bearer_token}`;
    const requestInit = { headers };
    if (config.transport !== 'sse') {
      try {
        this.#transportName = 'streamable-http';
        await client.connect(new StreamableHTTPClientTransport(url, { requestInit }), options);
        return;
      } catch (error) {
        if (config.transport === 'streamable-http') throw error;
        this.#options.logger.debug(
          { event: 'mcp.server.sse_fallback', server: this.name, error: String(error) },
          'Streamable HTTP failed; trying SSE',
        );
      }
    }
    this.#transportName = 'sse';
    await client.connect(
      new SSEClientTransport(url, { requestInit, eventSourceInit: { fetch: withHeaders(headers) } }),
      options,
    );
  }

  #stdioTransport(command: string): ChildProcessTransport {
    const { config, workspace, toolUser } = this.#options;
    const cwd = config.cwd === undefined ? workspace : path.resolve(workspace, config.cwd);
    return new ChildProcessTransport({
      command,
      args: config.args,
      cwd,
      env: toolEnv({
        source: process.env,
        extra: config.env,
        shell: process.env['SHELL'] ?? '/bin/sh',
        workspace,
        user: toolUser,
      }),
      user: toolUser,
    });
  }

  async #refreshTools(client: Client): Promise<void> {
    const listed: McpTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor });
      listed.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    this.#tools = listed.map((tool) => createMcpTool(this, tool));
    if (this.#state === 'ready') {
      this.#options.logger.info(
        { event: 'mcp.server.tools_changed', server: this.name, tools: this.#tools.length },
        'MCP server tools changed',
      );
    }
  }

  /** The connection dropped (a stdio server exited): mark it down and reconnect after a delay. */
  #lost(client: Client): void {
    if (this.#stopped.signal.aborted || this.#client !== client) return;
    this.#error = this.#describeExit();
    this.#client = undefined;
    this.#state = 'failed';
    this.#options.logger.warn(
      { event: 'mcp.server.lost', server: this.name, error: this.#error },
      'MCP server lost',
    );
    this.#scheduleRetry();
  }

  #describeExit(): string {
    const exit = this.#transportName === 'stdio' ? this.#child?.exitDescription : undefined;
    if (exit === undefined) return 'the connection closed';
    const stderr = this.#child?.stderrTail ?? '';
    return `the server process ended (${exit})${stderr ? `: ${lastLine(stderr)}` : ''}`;
  }

  #explain(error: unknown): string {
    let message = error instanceof Error ? error.message : String(error);
    if (error instanceof StreamableHTTPError || error instanceof SseError) {
      if (error.code !== undefined) message = `HTTP ${error.code}: ${message}`;
    }
    const stderr = this.#transportName === 'stdio' ? (this.#child?.stderrTail ?? '') : '';
    return stderr ? `${message} (stderr: ${lastLine(stderr)})` : message;
  }

  #scheduleRetry(): void {
    const first = this.#options.retryDelayMs ?? 1_000;
    const max = this.#options.maxRetryDelayMs ?? 60_000;
    const delay = Math.min(max, first * 2 ** this.#failures);
    this.#failures++;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#connecting ??= this.#connect();
    }, delay);
    // A retry pending must not keep a finished process alive.
    this.#retryTimer.unref();
  }
}

const isDirectory = (dir: string): Promise<boolean> =>
  stat(dir).then(
    (stats) => stats.isDirectory(),
    () => false,
  );

function lastLine(text: string): string {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}

/** EventSource requests carry the configured headers too (the SSE transport's GET). */
function withHeaders(headers: Record<string, string>): typeof fetch {
  return (input, init) =>
    fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), ...headers } });
}
