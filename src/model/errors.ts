/**
 * Typed failures of the upstream model. Each carries a stable `code`, the upstream HTTP status when
 * there was one, and a message that tells the user what to fix. The API server maps them to HTTP
 * statuses in its error mapper; the CLI prints their message. Nothing here formats wire output.
 */

export type ModelErrorCode =
  | 'upstream_not_configured'
  | 'upstream_auth'
  | 'upstream_rate_limited'
  | 'upstream_unavailable'
  | 'upstream_bad_request'
  | 'context_too_long'
  | 'upstream_timeout'
  | 'upstream_stream_cut';

export class ModelError extends Error {
  readonly code: ModelErrorCode;
  readonly status: number | undefined;
  /** Seconds the upstream asked us to wait (rate limits). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ModelErrorCode,
    message: string,
    options: { status?: number; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'ModelError';
    this.code = code;
    this.status = options.status;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** The run was cancelled through its AbortSignal (client disconnect, /stop, shutdown). */
export class RunAbortedError extends Error {
  readonly code = 'aborted';
  constructor(message = 'The run was cancelled.') {
    super(message);
    this.name = 'RunAbortedError';
  }
}
