/**
 * Herald's Prometheus metrics (prom-client): one registry per `Pulse`, with typed recording methods so
 * callers never touch label names, plus the Node process metrics (event-loop lag, heap, CPU) from one
 * process-wide registry. `render()` is the `GET /metrics` body. It records what it is told; deciding
 * when something happened (a request ended, a tool call finished) is the callers' job.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds; from a quick tool-less answer to a long agent run. */
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Seconds until the first token or the upstream's first byte: interactive latency. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30];

let processRegistry: Registry | undefined;

/**
 * The process metrics live once per process, not per registry: each `collectDefaultMetrics` call starts
 * its own event-loop delay monitor and GC observer that are never stopped, and a test run builds many
 * servers in one process.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export type ToolOutcome = 'ok' | 'error';
export type PlatformAction = 'send' | 'edit' | 'delete';

export class HeraldMetrics {
  readonly registry = new Registry();
  readonly #httpRequests = new Counter({
    name: 'herald_http_requests_total',
    help: 'HTTP requests answered, by method, route (the route pattern) and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
  readonly #httpDuration = new Histogram({
    name: 'herald_http_request_duration_seconds',
    help: 'Time from request to the end of its response (whole stream for streamed replies).',
    labelNames: ['method', 'route'],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly #firstToken = new Histogram({
    name: 'herald_run_first_token_seconds',
    help: 'Time from the start of an agent run to its first streamed text (TTFT).',
    labelNames: ['platform'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly #runDuration = new Histogram({
    name: 'herald_run_duration_seconds',
    help: 'Duration of agent runs by platform and outcome (done, error, aborted).',
    labelNames: ['platform', 'outcome'],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly #tokens = new Counter({
    name: 'herald_tokens_total',
    help: 'Tokens of finished agent runs, by platform and kind (prompt, completion).',
    labelNames: ['platform', 'kind'],
    registers: [this.registry],
  });
  readonly #upstreamLatency = new Histogram({
    name: 'herald_upstream_latency_seconds',
    help: 'Time from an upstream model call to its first delta (or its failure), by outcome (ok, error).',
    labelNames: ['outcome'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly #upstreamErrors = new Counter({
    name: 'herald_upstream_errors_total',
    help: 'Failed upstream model calls, by error code (upstream_timeout, upstream_rate_limited, …).',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly #toolCalls = new Counter({
    name: 'herald_tool_calls_total',
    help: "Calls of the agent's own tools, by tool and outcome (ok, error).",
    labelNames: ['tool', 'outcome'],
    registers: [this.registry],
  });
  readonly #platformMessages = new Counter({
    name: 'herald_platform_messages_total',
    help: 'Messages a chat platform accepted, by platform and action (send, edit, delete).',
    labelNames: ['platform', 'action'],
    registers: [this.registry],
  });
  readonly #platformRateLimited = new Counter({
    name: 'herald_platform_rate_limited_total',
    help: 'Sends and edits a chat platform refused with 429 (flood control), by platform.',
    labelNames: ['platform'],
    registers: [this.registry],
  });

  /**
   * The run counts are read at scrape time from their owners (the Pulse counts runs in flight; the API's
   * run limiter and the gateway's conversations own their queues).
   */
  constructor(runs: { inFlight: () => Record<string, number>; queued: () => Record<string, number> }) {
    this.#gaugeByPlatform('herald_runs_in_flight', 'Agent runs in progress, by platform.', runs.inFlight);
    this.#gaugeByPlatform(
      'herald_runs_queued',
      'Runs waiting for a run slot (api) or behind a running reply (chat platforms), by platform.',
      runs.queued,
    );
  }

  #gaugeByPlatform(name: string, help: string, read: () => Record<string, number>): void {
    new Gauge({
      name,
      help,
      labelNames: ['platform'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [platform, count] of Object.entries(read())) this.set({ platform }, count);
      },
    });
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.#httpRequests.inc({ method, route, status: String(status) });
    this.#httpDuration.observe({ method, route }, seconds);
  }

  firstToken(platform: string, seconds: number): void {
    this.#firstToken.observe({ platform }, seconds);
  }

  runDuration(platform: string, outcome: 'done' | 'error' | 'aborted', seconds: number): void {
    this.#runDuration.observe({ platform, outcome }, seconds);
  }

  tokens(platform: string, prompt: number, completion: number): void {
    this.#tokens.inc({ platform, kind: 'prompt' }, prompt);
    this.#tokens.inc({ platform, kind: 'completion' }, completion);
  }

  upstreamCall(seconds: number, errorCode?: string): void {
    this.#upstreamLatency.observe({ outcome: errorCode ? 'error' : 'ok' }, seconds);
    if (errorCode) this.#upstreamErrors.inc({ code: errorCode });
  }

  toolCall(tool: string, outcome: ToolOutcome): void {
    this.#toolCalls.inc({ tool, outcome });
  }

  platformMessage(platform: string, action: PlatformAction): void {
    this.#platformMessages.inc({ platform, action });
  }

  platformRateLimited(platform: string): void {
    this.#platformRateLimited.inc({ platform });
  }

  /**
   * Counts the queries this replica sent to a shared PostgreSQL store (read at scrape time from the
   * store's own counter): database round trips per request, for capacity planning and the replicas bench.
   */
  watchStoreQueries(read: () => number): void {
    new Counter({
      name: 'herald_store_queries_total',
      help: 'Queries sent to the shared PostgreSQL store (store.url) by this replica, turn locks included.',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  /** The Prometheus text exposition of Herald's metrics and the process metrics. */
  render(): Promise<string> {
    return Registry.merge([this.registry, processMetrics()]).metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
