/**
 * Herald's optional OpenTelemetry traces (`tracing:` in config): what the composition root and the API
 * server see of them, and `startTracing`, which loads the OpenTelemetry SDK only when tracing is
 * enabled, so a Herald without traces pays nothing for them at startup. Like the Pulse, tracing
 * decorates the parts it watches (agent, model client, tools) and takes one call per HTTP request; no
 * route or tool body carries tracing code. The spans themselves are built in otel-tracing.ts.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AgentRunner } from '../agent/index.ts';
import type { HeraldConfig } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import { DEFAULT_BASE_URL, type ModelClient } from '../model/index.ts';
import type { ToolRegistry } from '../tools/index.ts';

export interface Tracing {
  /**
   * The agent, with a span per run that parents its model and tool spans. Wrap the `Agent` itself, not
   * another decorator: the run's loop must start inside `run()`, which is where its span is current.
   */
  observeAgent(agent: AgentRunner): AgentRunner;
  /** The model client, with a span per upstream call. */
  observeModel(model: ModelClient): ModelClient;
  /** The tool registry, whose tools record a span per call. */
  observeTools(tools: ToolRegistry): ToolRegistry;
  /** A server span for one HTTP request, continuing the caller's trace when it sent `traceparent`. */
  startRequest(request: TracedRequest): RequestSpan;
  /** Flushes what is buffered and stops; bounded, so an unreachable collector never holds up an exit. */
  shutdown(): Promise<void>;
}

export interface TracedRequest {
  method: string;
  /** Without the query string. */
  path: string;
  requestId: string;
  /** Only the W3C trace context headers are read. */
  headers: IncomingHttpHeaders;
}

export interface RequestSpan {
  /** Runs `fn` with this span current, so work it starts (the agent run) nests under it. */
  within<T>(fn: () => T): T;
  /** Ends the span when the response ended (a stream: when its last byte was written or the client left). */
  end(outcome: RequestOutcome): void;
}

export interface RequestOutcome {
  /** The route pattern (`/v1/responses/:id`); undefined when no route matched. */
  route: string | undefined;
  status: number;
  /** The error code the request was answered with, also one a stream's error frame carried. */
  errorCode?: string | undefined;
}

/** Tracing as configured, or undefined when it is off (then no OpenTelemetry module is loaded). */
export async function startTracing(
  config: HeraldConfig,
  options: { logger: Logger; version: string },
): Promise<Tracing | undefined> {
  if (!config.tracing.enabled) return undefined;
  const { createOtelTracing } = await import('./otel-tracing.ts');
  return createOtelTracing({
    ...config.tracing,
    version: options.version,
    upstreamUrl: config.model.base_url ?? DEFAULT_BASE_URL,
    logger: options.logger,
  });
}
