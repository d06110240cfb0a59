/**
 * The API server's one error mapper: every failure leaves as an OpenAI-shaped
 * `{"error":{"message","type","param","code"}}` body with the right status. Route code throws
 * `ApiError`s (or lets typed errors from the agent/model bubble up); nothing else formats errors.
 */
import { ModelError, RunAbortedError } from '../../../model/errors.ts';

export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'conflict_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'upstream_error'
  | 'service_unavailable';

export interface ApiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export class ApiError extends Error {
  readonly status: number;
  readonly type: ApiErrorType;
  readonly param: string | null;
  readonly code: string | null;
  /** Extra response headers, e.g. `retry-after` on 429. */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    message: string,
    options: {
      type?: ApiErrorType;
      param?: string | null;
      code?: string | null;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.type = options.type ?? defaultType(status);
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.headers = options.headers ?? {};
  }

  toBody(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

function defaultType(status: number): ApiErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status === 409) return 'conflict_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 503) return 'service_unavailable';
  if (status === 502 || status === 504) return 'upstream_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

const modelErrorStatus: Record<ModelError['code'], number> = {
  upstream_not_configured: 503,
  upstream_auth: 502,
  upstream_rate_limited: 429,
  upstream_unavailable: 502,
  upstream_bad_request: 400,
  context_too_long: 400,
  upstream_timeout: 504,
  upstream_stream_cut: 502,
};

/** Turns anything thrown into an ApiError; unknown errors become a 500 without internals. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ModelError) {
    const status = modelErrorStatus[error.code];
    const headers: Record<string, string> = {};
    if (status === 429) headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfterSeconds ?? 1)));
    return new ApiError(status, error.message, {
      code: error.code === 'context_too_long' ? 'context_length_exceeded' : error.code,
      headers,
    });
  }
  if (error instanceof RunAbortedError) {
    return new ApiError(499, error.message, { type: 'invalid_request_error', code: 'cancelled' });
  }
  return new ApiError(500, 'The server had an error while processing your request.', {
    type: 'server_error',
    code: 'internal_error',
  });
}
