/**
 * The Mattermost REST failure Herald's own post calls throw, and its mapping onto the gateway's
 * platform errors: 429 (the server's rate limiter) becomes FloodControlError with the Retry-After /
 * X-RateLimit-Reset delay, and an edit refused for good (403: edit window closed or not allowed;
 * 404: post deleted) becomes EditFailedError. Anything else is returned unchanged.
 */
import { EditFailedError, FloodControlError } from '../../types.ts';

/** A 429 without a usable delay header: wait this long. */
const DEFAULT_RETRY_AFTER_MS = 1000;

export class MattermostApiError extends Error {
  readonly code = 'mattermost_api_error';
  readonly status: number;
  readonly retryAfterMs: number | undefined;
  constructor(status: number, message: string, retryAfterMs?: number) {
    super(`Mattermost API error ${status}: ${message}`);
    this.name = 'MattermostApiError';
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Seconds from `Retry-After`, else `X-RateLimit-Reset` (seconds until the bucket refills). */
export function retryAfterMs(headers: Headers): number | undefined {
  for (const name of ['retry-after', 'x-ratelimit-reset']) {
    const seconds = Number(headers.get(name));
    if (headers.has(name) && Number.isFinite(seconds) && seconds >= 0) return Math.max(seconds * 1000, 100);
  }
  return undefined;
}

export function mapSendError(error: unknown): unknown {
  if (error instanceof MattermostApiError && error.status === 429) {
    return new FloodControlError(error.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS);
  }
  return error;
}

export function mapEditError(error: unknown): unknown {
  const mapped = mapSendError(error);
  if (
    mapped === error &&
    error instanceof MattermostApiError &&
    (error.status === 403 || error.status === 404)
  ) {
    return new EditFailedError(`Mattermost refused the edit: HTTP ${error.status}`, { cause: error });
  }
  return mapped;
}
