/**
 * Tracing through the official OpenTelemetry SDK: a Node tracer provider (AsyncLocalStorage context,
 * W3C trace-context propagation) registered for the process, batching spans to an OTLP/HTTP collector
 * in the JSON encoding, sampling new traces by `sample_ratio` and following a caller's sampling
 * decision. Loaded by `startTracing` only when tracing is enabled. Export problems are logged as
 * warnings and never fail a request; every export gives up after EXPORT_TIMEOUT_MS, which bounds how
 * long shutdown can wait for an unreachable collector.
 */
import { randomUUID } from 'node:crypto';
import { context, type DiagLogger, DiagLogLevel, diag, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { HeraldConfig } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import { displayUrl } from '../model/index.ts';
import { startRequestSpan } from './request-span.ts';
import { traceAgent } from './traced-agent.ts';
import { traceModelClient } from './traced-model-client.ts';
import { traceTools } from './traced-tools.ts';
import type { Tracing } from './tracing.ts';

/**
 * How long one export may take, retries of a collector that refuses included. Short, because at exit
 * serve waits for the last export: a local collector answers in milliseconds, and an unreachable one
 * must not hold up a restart.
 */
const EXPORT_TIMEOUT_MS = 2_000;

export interface OtelTracingOptions
  extends Pick<HeraldConfig['tracing'], 'endpoint' | 'service_name' | 'headers' | 'sample_ratio'> {
  version: string;
  /** The upstream model's base URL: model spans name its host. */
  upstreamUrl: string;
  logger: Logger;
  /** Where spans go instead of the OTLP exporter (tests). */
  exporter?: SpanExporter;
}

export function createOtelTracing(options: OtelTracingOptions): Tracing {
  const exporter =
    options.exporter ??
    new OTLPTraceExporter({
      url: options.endpoint,
      headers: options.headers,
      timeoutMillis: EXPORT_TIMEOUT_MS,
    });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.service_name,
      [ATTR_SERVICE_VERSION]: options.version,
      // Replicas share a service name; this tells their spans apart.
      'service.instance.id': randomUUID(),
    }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sample_ratio) }),
    spanProcessors: [new BatchSpanProcessor(exporter, { exportTimeoutMillis: EXPORT_TIMEOUT_MS })],
  });
  provider.register();
  diag.setLogger(diagLogger(options.logger), DiagLogLevel.WARN);
  const tracer = provider.getTracer('herald', options.version);
  options.logger.info(
    {
      event: 'tracing.enabled',
      endpoint: displayUrl(options.endpoint),
      serviceName: options.service_name,
      sampleRatio: options.sample_ratio,
    },
    'exporting traces',
  );
  const upstream = new URL(options.upstreamUrl);

  return {
    observeAgent: (agent) => traceAgent(agent, tracer),
    observeModel: (model) => traceModelClient(model, tracer, upstream),
    observeTools: (tools) => traceTools(tools, tracer),
    startRequest: (request) => startRequestSpan(tracer, request),
    async shutdown() {
      try {
        await provider.shutdown();
      } catch (error) {
        // Spans are worth a warning, never a failed exit.
        options.logger.warn(
          { event: 'tracing.flush_failed', endpoint: displayUrl(options.endpoint), err: error },
          'the last spans could not be exported',
        );
      } finally {
        // Unregistered, so the process's globals are as before (a test starts another tracing).
        trace.disable();
        context.disable();
        propagation.disable();
        diag.disable();
      }
    },
  };
}

/** The SDK's own diagnostics (a failed export) as Herald warnings. */
function diagLogger(logger: Logger): DiagLogger {
  const warn = (message: string): void => logger.warn({ event: 'tracing.diagnostic' }, message);
  return { error: warn, warn, info: () => {}, debug: () => {}, verbose: () => {} };
}
