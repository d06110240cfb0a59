/**
 * Turns discord.js REST failures into the gateway's platform errors. The REST client is built with
 * `rejectOnRateLimit`, so a 429 (or a bucket known to be empty) surfaces here as a `RateLimitError`
 * instead of being slept on inside discord.js; the StreamConsumer then decides how to back off.
 * Errors that are neither flood control nor a permanently failed edit are returned unchanged.
 */
import { DiscordAPIError, RateLimitError, RESTJSONErrorCodes } from 'discord.js';
import { EditFailedError, FloodControlError } from '../../types.ts';

/** Discord error codes after which editing that message can never succeed. */
const PERMANENT_EDIT_FAILURES: ReadonlySet<number | string> = new Set([
  RESTJSONErrorCodes.UnknownMessage,
  RESTJSONErrorCodes.UnknownChannel,
  RESTJSONErrorCodes.CannotEditMessageAuthoredByAnotherUser,
  RESTJSONErrorCodes.MissingAccess,
]);

/** Fallback wait when Discord sent a 429 without a usable Retry-After. */
const DEFAULT_RETRY_AFTER_MS = 1000;

export function toFloodControl(error: unknown): FloodControlError | undefined {
  if (error instanceof RateLimitError) {
    const waitMs = Math.max(error.retryAfter, error.timeToReset, error.sublimitTimeout);
    return new FloodControlError(Math.ceil(waitMs > 0 ? waitMs : DEFAULT_RETRY_AFTER_MS));
  }
  return undefined;
}

/** Maps an error thrown by a send/delete call. */
export function mapSendError(error: unknown): unknown {
  return toFloodControl(error) ?? error;
}

/** Maps an error thrown by an edit call: flood control, a permanent failure, or the error itself. */
export function mapEditError(error: unknown): unknown {
  const flood = toFloodControl(error);
  if (flood) return flood;
  if (error instanceof DiscordAPIError && PERMANENT_EDIT_FAILURES.has(error.code)) {
    return new EditFailedError(`Discord refused the edit (${error.code}): ${error.message}`, {
      cause: error,
    });
  }
  return error;
}
