/**
 * The API server as a gateway platform adapter: builds the Fastify app with its shared run machinery
 * (profiles, run limiter, per-conversation queue, active runs), listens on the configured host/port and
 * shuts down gracefully — stop accepting, let running streams finish for `shutdown_grace_s`, then abort
 * them. `start()` refuses to expose an unauthenticated agent beyond loopback. Routes live in their own
 * modules; this file only owns the lifecycle.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { FastifyInstance } from 'fastify';
import type { AgentRunner } from '../../../agent/index.ts';
import type { HeraldConfig } from '../../../config/schema.ts';
import type { Logger } from '../../../logger.ts';
import { isModelConfigured, MODEL_NOT_CONFIGURED_MESSAGE } from '../../../model/index.ts';
import type { Pulse, Tracing } from '../../../observability/index.ts';
import type {
  IdempotencyStore,
  ReplicaControl,
  ResponseStore,
  RunStore,
  TranscriptStore,
  TurnLock,
} from '../../../store/index.ts';
import type { ToolRegistry } from '../../../tools/index.ts';
import type { PlatformAdapter } from '../../types.ts';
import { ActiveRuns } from './active-runs.ts';
import { type ApiCaller, LOCAL_CALLER } from './api-caller.ts';
import { buildApp } from './app.ts';
import { ConversationQueue } from './conversation-queue.ts';
import { createHeraldMcpServer } from './herald-mcp-server.ts';
import { ProfileResolver } from './profiles.ts';
import { createResponseTurns, type ResponseTurns } from './responses-routes.ts';
import { ResponsesWebSocket } from './responses-websocket.ts';
import { RunLimiter } from './run-limiter.ts';
import { createAccessCheck, isLoopbackBind, UnsafeBindError } from './security.ts';

/** How long after the grace period connections may take to end before they are closed hard. */
const FORCE_CLOSE_MS = 1_500;

export interface ApiServerOptions {
  config: HeraldConfig;
  agent: AgentRunner;
  /** The registry the agent runs tools from: client tools must not take its names. */
  tools: ToolRegistry;
  responseStore: ResponseStore;
  transcripts: TranscriptStore;
  /** Runs API state; without it `/v1/runs` is not served. */
  runStore?: RunStore;
  /**
   * With a store shared by replicas: turns serialise through its lock, Idempotency-Key results live in
   * it, and cancel/stop/answers reach runs on other replicas through its control channel.
   */
  shared?: { turnLock: TurnLock; idempotency: IdempotencyStore; control?: ReplicaControl } | undefined;
  logger: Logger;
  version: string;
  /** Watches the server (request metrics, the run queue) and answers `/metrics`, `/status`, `/health/ready`. */
  pulse: Pulse;
  /** A span per HTTP request (`tracing.enabled`); the agent's own spans come with the agent. */
  tracing?: Tracing | undefined;
}

export class ApiServer implements PlatformAdapter {
  readonly name = 'api-server';
  readonly #options: ApiServerOptions;
  readonly #runs = new ActiveRuns();
  readonly #app: FastifyInstance;
  readonly #limiter: RunLimiter;
  readonly #sockets: ResponsesWebSocket;
  readonly #turns: ResponseTurns;
  #url: string | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: ApiServerOptions) {
    this.#options = options;
    const { config } = options;
    const api = config.api_server;
    this.#limiter = new RunLimiter({
      maxConcurrentRuns: api.max_concurrent_runs,
      maxQueuedRuns: api.max_queued_runs,
      queueTimeoutMs: api.queue_timeout_s * 1000,
    });
    options.pulse.watchQueue('api', () => this.#limiter.queued);
    const deps = {
      config,
      agent: options.agent,
      logger: options.logger,
      version: options.version,
      pulse: options.pulse,
      tracing: options.tracing,
      profiles: new ProfileResolver(config, options.tools),
      limiter: this.#limiter,
      queue: new ConversationQueue({ lock: options.shared?.turnLock }),
      runs: this.#runs,
      responseStore: options.responseStore,
      transcripts: options.transcripts,
      runStore: options.runStore,
      control: options.shared?.control,
    };
    const responseTurns = createResponseTurns(deps);
    this.#turns = responseTurns;
    const access = createAccessCheck(config.api_server);
    this.#app = buildApp({ ...deps, responseTurns, access, idempotency: options.shared?.idempotency });
    this.#sockets = new ResponsesWebSocket({
      server: this.#app.server,
      turns: responseTurns,
      store: options.responseStore,
      config: config.api_server,
      access,
      logger: options.logger,
    });
  }

  /** `http://host:port` once started (the real port when configured with 0). */
  get url(): string {
    if (!this.#url) throw new Error('ApiServer is not started');
    return this.#url;
  }

  /** The Fastify instance, for `inject` in tests. */
  get app(): FastifyInstance {
    return this.#app;
  }

  /**
   * The agent as an MCP server acting for `caller` (`herald mcp serve` over stdio: the local owner),
   * sharing this server's run limits, queues and store; it needs no `start()`.
   */
  mcpServer(caller: ApiCaller = LOCAL_CALLER): McpServer {
    return createHeraldMcpServer({
      turns: this.#turns,
      store: this.#options.responseStore,
      caller,
      version: this.#options.version,
    });
  }

  /** Number of agent runs in flight. */
  get activeRuns(): number {
    return this.#runs.size;
  }

  async start(): Promise<void> {
    const { config, logger } = this.#options;
    const api = config.api_server;
    if (api.keys.length === 0) {
      if (!isLoopbackBind(api.host) && !api.allow_unauthenticated) throw new UnsafeBindError(api.host);
      if (api.allow_unauthenticated) {
        logger.warn(
          { event: 'api.unauthenticated', host: api.host },
          'WARNING: the API server runs WITHOUT authentication (api_server.allow_unauthenticated: true). Anyone who can reach it can run the agent and its shell tools. Set API_SERVER_KEY.',
        );
      }
    }
    if (api.responses.tool_items !== undefined) {
      logger.warn(
        { event: 'config.deprecated', setting: 'api_server.responses.tool_items' },
        "api_server.responses.tool_items is deprecated and ignored: the agent's own tool use always appears as hosted mcp_call items. Remove it from config.yaml.",
      );
    }
    if (!isModelConfigured(config.model)) {
      logger.warn(
        { event: 'api.no_model' },
        `${MODEL_NOT_CONFIGURED_MESSAGE} Until then agent endpoints answer 503.`,
      );
    }
    // Runs a previous process left unfinished (kill -9, crash, full disk) can never finish now.
    const interrupted = await this.#options.responseStore.markInterrupted();
    if (interrupted > 0) {
      logger.warn(
        { event: 'api.responses_interrupted', count: interrupted },
        'marked responses left in progress by a previous run as incomplete (interrupted)',
      );
    }
    const runsInterrupted = (await this.#options.runStore?.markInterrupted()) ?? 0;
    if (runsInterrupted > 0) {
      logger.warn(
        { event: 'api.runs_interrupted', count: runsInterrupted },
        'marked runs left unfinished by a previous process as interrupted',
      );
    }
    const removed = await this.#options.transcripts.prune({ maxAgeDays: api.responses.max_age_days });
    if (removed > 0)
      logger.debug({ event: 'api.transcripts_pruned', removed }, 'pruned old chat transcripts');
    await this.#app.listen({ host: api.host, port: api.port });
    const address = this.#app.server.address();
    const port = typeof address === 'object' && address ? address.port : api.port;
    const host = api.host.includes(':') ? `[${api.host}]` : api.host;
    this.#url = `http://${host}:${port}`;
    logger.info(
      { event: 'api.listening', url: this.#url, auth: api.keys.length > 0 ? 'bearer' : 'none' },
      'API server listening',
    );
  }

  /**
   * Graceful stop: the listener closes at once (new connections refused, new requests on open
   * connections get 503); running requests get `shutdown_grace_s` to finish, then their runs are
   * aborted and their streams end with an error frame; then Responses WebSockets close with 1001.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const { config, logger } = this.#options;
    const closing = this.#app.close();
    // Requests still waiting for a run slot would only be cut later: answer them 503 now.
    this.#limiter.close();
    const inFlight = this.#runs.size;
    await this.#runs.drain(config.api_server.shutdown_grace_s * 1000);
    // Closed alongside the HTTP connections, not before: awaiting it first delays the sweep below, and a
    // keep-alive connection whose pipelined request was not parsed yet was then dropped as idle.
    const socketsClosed = this.#sockets.close();
    // Connections that were busy when closing began become idle keep-alive connections once their
    // response ends; close them as they do, so stop() does not wait for the keep-alive timeout.
    const server = this.#app.server;
    const sweep = setInterval(() => server.closeIdleConnections(), 25);
    // Aborted runs end their streams within moments; whatever still holds a connection then is cut, so
    // the whole stop stays within shutdown_grace_s + 2 s (a supervisor's kill timeout is usually longer).
    const force = setTimeout(() => server.closeAllConnections(), FORCE_CLOSE_MS);
    server.closeIdleConnections();
    try {
      await Promise.all([closing, socketsClosed]);
    } finally {
      clearInterval(sweep);
      clearTimeout(force);
    }
    logger.info({ event: 'api.stopped', abortedOrFinished: inFlight }, 'API server stopped');
  }
}

export function createApiServer(options: ApiServerOptions): ApiServer {
  return new ApiServer(options);
}
