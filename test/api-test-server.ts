/**
 * Starts a real Herald API server for the test/api-*.test.ts files: the real Agent, the real model
 * client and real tools against a ScriptedUpstream, SQLite stores in a temp HERALD_HOME, listening on
 * an ephemeral loopback port. `close()` stops everything and removes the temp dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { AgentRunner } from '../src/agent/index.ts';
import { Agent } from '../src/agent/index.ts';
import { configSchema, type HeraldConfig } from '../src/config/index.ts';
import { type ApiServer, createApiServer } from '../src/gateway/platforms/api-server/index.ts';
import { type Logger, silentLogger } from '../src/logger.ts';
import { createModelClient } from '../src/model/index.ts';
import { Pulse, type Tracing } from '../src/observability/index.ts';
import {
  openDatabase,
  SqliteApprovalRuleStore,
  SqliteResponseStore,
  SqliteRunStore,
  SqliteTranscriptStore,
  type Stores,
} from '../src/store/index.ts';
import { type AnyTool, createToolRegistry } from '../src/tools/index.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

export interface TestServer {
  server: ApiServer;
  pulse: Pulse;
  upstream: ScriptedUpstream;
  config: HeraldConfig;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `http://127.0.0.1:PORT/v1` */
  baseURL: string;
  /** The official SDK, no retries, pointed at Herald. */
  client: OpenAI;
  home: string;
  /** The SQLite database behind both stores (unused when `stores` were given). */
  db: ReturnType<typeof openDatabase>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Partial raw config merged over the defaults (`model` and `agent` one level deep; use `apiServer` for api_server). */
  config?: Record<string, unknown>;
  apiServer?: Record<string, unknown>;
  /** No upstream model configured at all. */
  noModel?: boolean;
  /** Replace the real agent (for tests of the server's own behaviour). */
  agent?: (real: AgentRunner) => AgentRunner;
  upstream?: ScriptedUpstream;
  apiKey?: string;
  /** Default: a silent logger. */
  logger?: Logger;
  /** MCP tools offered beside the built-ins (an `McpClients`' `tools`). */
  mcpTools?: () => readonly AnyTool[];
  /** An existing HERALD_HOME (kept on close), e.g. to start a second server on the same database. */
  home?: string;
  /** Stores to serve from instead of SQLite in the temp home (a shared PostgreSQL store); the caller closes them. */
  stores?: Stores;
  /** Traced as serve traces: requests, agent runs, model and tool calls. The caller shuts it down. */
  tracing?: Tracing;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const upstream = options.upstream ?? (await ScriptedUpstream.start());
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'herald-api-'));
  const removeHome = () => {
    if (!options.home) rmSync(home, { recursive: true, force: true });
  };
  const parsed = configSchema.parse({
    ...(options.config ?? {}),
    model: {
      ...(options.noModel
        ? { max_retries: 0, timeout_s: 30 }
        : {
            base_url: upstream.url,
            api_key: 'upstream-key',
            model: 'scripted-model',
            max_retries: 0,
            timeout_s: 30,
          }),
      ...((options.config?.['model'] as Record<string, unknown> | undefined) ?? {}),
    },
    agent: {
      workspace: join(home, 'workspace'),
      max_iterations: 5,
      ...((options.config?.['agent'] as Record<string, unknown> | undefined) ?? {}),
    },
    api_server: { port: 0, heartbeat_s: 15, shutdown_grace_s: 2, ...(options.apiServer ?? {}) },
  });
  const config: HeraldConfig = { ...parsed, home };
  const logger = options.logger ?? silentLogger();
  const db = openDatabase(join(home, 'herald.db'));
  // Watched as serve watches it, so every API test also runs through the Pulse's decorators.
  const pulse = new Pulse({ config, version: '0.0.0-test', storeOpen: () => db.isOpen });
  const { tracing } = options;
  const observed = pulse.observeModel(createModelClient(config.model, { logger, retryBaseMs: 1 }));
  const model = tracing ? tracing.observeModel(observed) : observed;
  const tools = createToolRegistry(config, { mcpTools: options.mcpTools });
  const approvalRules = options.stores?.approvalRules ?? new SqliteApprovalRuleStore(db);
  const agentTools = tracing ? tracing.observeTools(tools) : tools;
  const realAgent = new Agent({ model, tools: agentTools, config, logger, approvalRules });
  const traced = tracing ? tracing.observeAgent(realAgent) : realAgent;
  const agent = pulse.observeAgent(options.agent ? options.agent(traced) : traced);
  const server = createApiServer({
    config,
    agent,
    tools,
    responseStore: options.stores?.responses ?? new SqliteResponseStore(db),
    transcripts: options.stores?.transcripts ?? new SqliteTranscriptStore(db),
    runStore: options.stores?.runs ?? new SqliteRunStore(db),
    shared: options.stores?.shared,
    logger,
    version: '0.0.0-test',
    pulse,
    tracing,
  });
  try {
    await server.start();
  } catch (error) {
    if (!options.upstream) await upstream.close();
    db.close();
    removeHome();
    throw error;
  }
  const url = server.url;
  const client = new OpenAI({
    baseURL: `${url}/v1`,
    apiKey: options.apiKey ?? firstKey(config) ?? 'not-needed',
    maxRetries: 0,
    timeout: 20_000,
  });
  let closed = false;
  return {
    server,
    pulse,
    upstream,
    config,
    url,
    baseURL: `${url}/v1`,
    client,
    home,
    db,
    async close() {
      if (closed) return;
      closed = true;
      await server.stop();
      if (!options.upstream) await upstream.close();
      // A readiness test closes the store itself.
      if (db.isOpen) db.close();
      removeHome();
    },
  };
}

function firstKey(config: HeraldConfig): string | undefined {
  const key = config.api_server.keys[0];
  return typeof key === 'object' ? key.key : key;
}

/** Parses a raw SSE body into frames `{ event, data }` (comments dropped). */
export function parseSse(body: string): { event: string | undefined; data: string }[] {
  const frames: { event: string | undefined; data: string }[] = [];
  for (const block of body.split('\n\n')) {
    if (!block.trim()) continue;
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0) frames.push({ event, data: data.join('\n') });
  }
  return frames;
}

/**
 * The events of a Responses SSE body, JSON-parsed, after checking that the stream ends with the literal
 * `[DONE]` the Open Responses specification requires and that every `event:` line names its event's type.
 */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary event JSON without ceremony
export function responseEvents(body: string): any[] {
  const frames = parseSse(body);
  const last = frames.pop();
  if (last?.data !== '[DONE]') throw new Error(`the stream did not end with [DONE]: ${last?.data}`);
  return frames.map((frame) => {
    const event = JSON.parse(frame.data);
    if (frame.event !== event.type) throw new Error(`event: ${frame.event} carries a ${event.type}`);
    return event;
  });
}

/** Polls `fn` until it returns a value (a generous hang guard of about 4 s, then a named failure). */
export async function waitFor<T>(fn: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await fn();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}
