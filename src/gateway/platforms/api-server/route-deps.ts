/**
 * What every API route set (chat completions, models, the Responses API) gets from the server: config,
 * the agent, the logger and the shared run machinery. Built once by `createApiServer`; route modules take
 * it as a plain object so tests can build one directly.
 */
import type { AgentRunner } from '../../../agent/types.ts';
import type { HeraldConfig } from '../../../config/schema.ts';
import type { Logger } from '../../../logger.ts';
import type { Pulse, Tracing } from '../../../observability/index.ts';
import type { ReplicaControl } from '../../../store/index.ts';
import type { ActiveRuns } from './active-runs.ts';
import type { ConversationQueue } from './conversation-queue.ts';
import type { ProfileResolver } from './profiles.ts';
import type { RunLimiter } from './run-limiter.ts';

export interface ApiRouteDeps {
  config: HeraldConfig;
  agent: AgentRunner;
  logger: Logger;
  profiles: ProfileResolver;
  limiter: RunLimiter;
  queue: ConversationQueue;
  runs: ActiveRuns;
  /** Server version, for `/health` and `/v1/capabilities`. */
  version: string;
  /** Metrics, status and readiness (`/metrics`, `/status.json`, `/health/ready`). */
  pulse: Pulse;
  /** OpenTelemetry spans per request (`tracing.enabled`); absent when tracing is off. */
  tracing?: Tracing | undefined;
  /** With a store shared by replicas: reaches responses and runs executing on another replica. */
  control?: ReplicaControl | undefined;
}

/**
 * Every API path answers both under `/v1` and without it, because some clients append `/v1`
 * themselves. app.ts calls each route set's register function once on the root instance; the route set
 * registers each of its paths under every prefix here (`${prefix}/responses`).
 */
export const API_PREFIXES = ['/v1', ''] as const;
