/**
 * The pulse of a running Herald: one object the composition root builds and hands to the parts it wants
 * watched. It decorates the model client, the agent and the chat platforms (so no route or adapter
 * body needs metrics code), takes one call per finished HTTP request, and answers three questions:
 * the Prometheus metrics (`/metrics`), the status report (`/status.json`) and readiness
 * (`/health/ready`). It keeps only counters and the last few error codes: never message text or keys.
 */
import { statSync } from 'node:fs';
import type { AgentRunner } from '../agent/index.ts';
import { type HeraldConfig, heraldPaths } from '../config/index.ts';
import type { ChatPlatform, PlatformState } from '../gateway/index.ts';
import { displayUrl, isModelConfigured, type ModelClient } from '../model/index.ts';
import { HeraldMetrics, type PlatformAction } from './herald-metrics.ts';
import { observeAgent, type RunEnd, type RunObserver } from './observed-agent.ts';
import { observeChatPlatform, type PlatformObserver } from './observed-chat-platform.ts';
import { observeModelClient } from './observed-model-client.ts';
import { UpstreamHealth, type UpstreamHealthReport } from './upstream-health.ts';

/** Probes and scrapes, left out of the day's request count so a monitor does not inflate it. */
const MONITORING_ROUTES = new Set([
  '/health',
  '/v1/health',
  '/health/ready',
  '/metrics',
  '/status',
  '/status.json',
]);
/** Recent errors kept for `/status`. */
const RECENT_ERRORS = 20;
/** How long a failed upstream call keeps `/health/ready` at 503 (with `ready_requires_upstream`). */
export const UPSTREAM_FAILURE_WINDOW_MS = 60_000;

export interface PulseOptions {
  config: HeraldConfig;
  version: string;
  /** Whether the store can be used (the SQLite handle is open). */
  storeOpen: () => boolean;
  /** A store shared by replicas: this replica's instance id and its query count for `/metrics`. */
  sharedStore?: { instanceId: string; queries: () => number } | undefined;
  /** Wall clock in ms; tests pass their own. */
  now?: () => number;
}

/** One failed request or run, as `/status` lists it: where and which code, never what was said. */
export interface RecentError {
  at: string;
  code: string;
  /** HTTP requests: the request id, route pattern and status. */
  request_id?: string;
  route?: string;
  status?: number;
  /** Chat-platform runs: the platform. */
  platform?: string;
}

export interface FinishedRequest {
  requestId: string;
  method: string;
  route: string;
  status: number;
  seconds: number;
  /** The error code the request was answered with (also for a stream that ended in an error). */
  errorCode?: string;
}

export interface StatusReport {
  object: 'herald.status';
  version: string;
  started_at: string;
  uptime_s: number;
  model: { configured: boolean; id: string | null; base_url: string | null; upstream: UpstreamHealthReport };
  platforms: {
    name: string;
    state: PlatformState['state'];
    failures: number;
    last_error: string | null;
    /** While `standby`: the instance id of the replica connecting the platform. */
    leader: string | null;
  }[];
  /** This replica's instance id in a store shared by replicas; null on SQLite. */
  instance_id: string | null;
  runs: { in_flight: Record<string, number>; queued: Record<string, number> };
  /** Counted from midnight UTC. */
  today: { date: string; requests: number; runs: number; prompt_tokens: number; completion_tokens: number };
  recent_errors: RecentError[];
  store: { database_bytes: number; wal_bytes: number };
}

export type Readiness = { ready: true } | { ready: false; reason: string };

interface DailyTally {
  date: string;
  requests: number;
  runs: number;
  promptTokens: number;
  completionTokens: number;
}

export class Pulse implements RunObserver, PlatformObserver {
  readonly metrics: HeraldMetrics;
  readonly #upstream = new UpstreamHealth();
  readonly #config: HeraldConfig;
  readonly #version: string;
  readonly #storeOpen: () => boolean;
  readonly #instanceId: string | undefined;
  readonly #now: () => number;
  readonly #startedAt: number;
  readonly #inFlight = new Map<string, number>();
  readonly #queues = new Map<string, () => number>();
  readonly #errors: RecentError[] = [];
  #platforms: () => PlatformState[] = () => [];
  #today: DailyTally;

  constructor(options: PulseOptions) {
    this.#config = options.config;
    this.#version = options.version;
    this.#storeOpen = options.storeOpen;
    this.#instanceId = options.sharedStore?.instanceId;
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
    this.#today = this.#tally();
    this.metrics = new HeraldMetrics({
      inFlight: () => Object.fromEntries(this.#inFlight),
      queued: () => this.#queued(),
    });
    if (options.sharedStore) this.metrics.watchStoreQueries(options.sharedStore.queries);
  }

  /** The model client, reporting each upstream call's latency and error code. */
  observeModel(model: ModelClient): ModelClient {
    return observeModelClient(model, (latencyMs, errorCode) => {
      this.#upstream.record(this.#now(), latencyMs, errorCode);
      this.metrics.upstreamCall(latencyMs / 1000, errorCode);
    });
  }

  /** The agent, reporting runs, time to first token, tool calls and tokens. */
  observeAgent(agent: AgentRunner): AgentRunner {
    return observeAgent(agent, this);
  }

  /** The chat platform, counting sends, edits and flood-control refusals. */
  observeChatPlatform(platform: ChatPlatform): ChatPlatform {
    return observeChatPlatform(platform, this);
  }

  /** A queue whose length `/metrics` and `/status` report under `platform`. */
  watchQueue(platform: string, length: () => number): void {
    this.#queues.set(platform, length);
  }

  /** Where each chat platform's connection is (the gateway knows). */
  watchPlatforms(states: () => PlatformState[]): void {
    this.#platforms = states;
  }

  requestFinished(request: FinishedRequest): void {
    this.metrics.httpRequest(request.method, request.route, request.status, request.seconds);
    if (!MONITORING_ROUTES.has(request.route)) this.#tally().requests++;
    if (request.status >= 400 || request.errorCode) {
      this.#noteError({
        code: request.errorCode ?? `http_${request.status}`,
        request_id: request.requestId,
        route: request.route,
        status: request.status,
      });
    }
  }

  runStarted(platform: string): void {
    this.#inFlight.set(platform, (this.#inFlight.get(platform) ?? 0) + 1);
  }

  firstToken(platform: string, seconds: number): void {
    this.metrics.firstToken(platform, seconds);
  }

  toolCall(tool: string, isError: boolean): void {
    this.metrics.toolCall(tool, isError ? 'error' : 'ok');
  }

  runEnded(platform: string, seconds: number, end: RunEnd): void {
    this.#inFlight.set(platform, Math.max(0, (this.#inFlight.get(platform) ?? 0) - 1));
    this.metrics.runDuration(platform, end.outcome, seconds);
    this.metrics.tokens(platform, end.promptTokens, end.completionTokens);
    const today = this.#tally();
    today.runs++;
    today.promptTokens += end.promptTokens;
    today.completionTokens += end.completionTokens;
    // API requests are listed by the request log, with their request id; chat runs have none.
    if (end.errorCode && platform !== 'api') this.#noteError({ code: end.errorCode, platform });
  }

  platformMessage(platform: string, action: PlatformAction): void {
    this.metrics.platformMessage(platform, action);
  }

  platformRateLimited(platform: string): void {
    this.metrics.platformRateLimited(platform);
  }

  /** Ready: the store is open and, with `ready_requires_upstream`, the upstream is not failing. */
  readiness(): Readiness {
    if (!this.#storeOpen()) return { ready: false, reason: 'The store (herald.db) is not open.' };
    if (this.#config.api_server.ready_requires_upstream) {
      if (!isModelConfigured(this.#config.model)) {
        return { ready: false, reason: 'No upstream model is configured.' };
      }
      if (this.#upstream.failingSince(this.#now(), UPSTREAM_FAILURE_WINDOW_MS)) {
        const code = this.#upstream.report().last_error_code;
        return { ready: false, reason: `The upstream model's last call failed (${code}).` };
      }
    }
    return { ready: true };
  }

  status(): StatusReport {
    const now = this.#now();
    const { model } = this.#config;
    const today = this.#tally();
    const database = heraldPaths(this.#config.home).database;
    const secrets = platformSecrets(this.#config);
    return {
      object: 'herald.status',
      version: this.#version,
      started_at: new Date(this.#startedAt).toISOString(),
      uptime_s: Math.floor((now - this.#startedAt) / 1000),
      model: {
        configured: isModelConfigured(model),
        id: model.model ?? null,
        base_url: model.base_url ? displayUrl(model.base_url) : null,
        upstream: this.#upstream.report(),
      },
      platforms: this.#platforms().map((p) => ({
        name: p.name,
        state: p.state,
        failures: p.failures,
        last_error: p.lastError === undefined ? null : redact(p.lastError, secrets),
        leader: p.leader ?? null,
      })),
      instance_id: this.#instanceId ?? null,
      runs: { in_flight: Object.fromEntries(this.#inFlight), queued: this.#queued() },
      today: {
        date: today.date,
        requests: today.requests,
        runs: today.runs,
        prompt_tokens: today.promptTokens,
        completion_tokens: today.completionTokens,
      },
      recent_errors: [...this.#errors].reverse(),
      store: { database_bytes: fileSize(database), wal_bytes: fileSize(`${database}-wal`) },
    };
  }

  #queued(): Record<string, number> {
    return Object.fromEntries([...this.#queues].map(([platform, length]) => [platform, length()]));
  }

  #noteError(error: Omit<RecentError, 'at'>): void {
    this.#errors.push({ at: new Date(this.#now()).toISOString(), ...error });
    if (this.#errors.length > RECENT_ERRORS) this.#errors.shift();
  }

  /** Today's tally, started afresh when the UTC date changed. */
  #tally(): DailyTally {
    const date = new Date(this.#now()).toISOString().slice(0, 10);
    if (this.#today?.date !== date) {
      this.#today = { date, requests: 0, runs: 0, promptTokens: 0, completionTokens: 0 };
    }
    return this.#today;
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Platform tokens, which a library's error message might quote (a URL with the bot token in it). */
function platformSecrets(config: HeraldConfig): string[] {
  const { telegram, discord, slack } = config.platforms;
  return [telegram.token, discord.token, slack.bot_token, slack.app_token].filter(
    (secret): secret is string => typeof secret === 'string' && secret.length > 0,
  );
}

function redact(text: string, secrets: string[]): string {
  return secrets.reduce((out, secret) => out.replaceAll(secret, '[redacted]'), text).slice(0, 300);
}
