/**
 * The observability subsystem's front door: the `Pulse` (metrics, status report, readiness) and the
 * optional `Tracing` (OpenTelemetry spans) the composition root builds and hands to the parts it watches.
 */
export {
  type FinishedRequest,
  Pulse,
  type PulseOptions,
  type Readiness,
  type RecentError,
  type StatusReport,
  UPSTREAM_FAILURE_WINDOW_MS,
} from './pulse.ts';
export {
  type RequestOutcome,
  type RequestSpan,
  startTracing,
  type TracedRequest,
  type Tracing,
} from './tracing.ts';
