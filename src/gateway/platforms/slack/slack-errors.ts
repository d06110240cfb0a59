/**
 * Turns @slack/web-api failures into the gateway's platform errors. The WebClient is built with
 * `rejectRateLimitedCalls`, so an HTTP 429 arrives here as `WebAPIRateLimitedError` (Retry-After in
 * seconds) instead of being waited out inside the client. Anything else is returned unchanged.
 */
import { WebAPIPlatformError, WebAPIRateLimitedError } from '@slack/web-api';
import { EditFailedError, FloodControlError } from '../../types.ts';

/** `error` values after which chat.update on that message can never succeed. */
const PERMANENT_EDIT_FAILURES: ReadonlySet<string> = new Set([
  'message_not_found',
  'cant_update_message',
  'edit_window_closed',
  'channel_not_found',
]);

/** A `ratelimited` body without a Retry-After header: wait this long. */
const DEFAULT_RETRY_AFTER_MS = 1000;

export function toFloodControl(error: unknown): FloodControlError | undefined {
  if (error instanceof WebAPIRateLimitedError) {
    return new FloodControlError(error.retryAfter > 0 ? error.retryAfter * 1000 : DEFAULT_RETRY_AFTER_MS);
  }
  if (error instanceof WebAPIPlatformError && error.data.error === 'ratelimited') {
    return new FloodControlError(DEFAULT_RETRY_AFTER_MS);
  }
  return undefined;
}

/** The Slack `error` string of a platform error (`ok: false`), if that is what this is. */
export function slackErrorName(error: unknown): string | undefined {
  return error instanceof WebAPIPlatformError ? error.data.error : undefined;
}

export function mapSendError(error: unknown): unknown {
  return toFloodControl(error) ?? error;
}

export function mapEditError(error: unknown): unknown {
  const flood = toFloodControl(error);
  if (flood) return flood;
  const name = slackErrorName(error);
  if (name && PERMANENT_EDIT_FAILURES.has(name)) {
    return new EditFailedError(`Slack refused the edit: ${name}`, { cause: error });
  }
  return error;
}
