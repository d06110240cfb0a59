/**
 * Turns Bot API failures into what the StreamConsumer understands: a 429 becomes a
 * `FloodControlError` with Telegram's `retry_after`, an edit that can never succeed becomes an
 * `EditFailedError`. It also recognises the two refusals the adapter handles itself: entities Telegram
 * could not parse (retried as plain text) and "message is not modified" (ignored).
 */
import { GrammyError } from 'grammy';
import { EditFailedError, FloodControlError } from '../../types.ts';

export function isEntityParseError(error: unknown): boolean {
  return (
    error instanceof GrammyError &&
    error.error_code === 400 &&
    /can't parse entities|can't find end of|unsupported start tag|unexpected end tag|entity/i.test(
      error.description,
    )
  );
}

export function isNotModifiedError(error: unknown): boolean {
  return error instanceof GrammyError && /message is not modified/i.test(error.description);
}

/** The platform error to throw instead of `error`, or `error` itself when it means nothing special. */
export function toPlatformError(error: unknown): unknown {
  if (!(error instanceof GrammyError)) return error;
  if (error.error_code === 429) {
    const seconds = error.parameters.retry_after ?? 1;
    return new FloodControlError(seconds * 1000);
  }
  if (
    /message to edit not found|message can't be edited|MESSAGE_ID_INVALID|message to delete not found/i.test(
      error.description,
    )
  ) {
    return new EditFailedError(error.description, { cause: error });
  }
  return error;
}
