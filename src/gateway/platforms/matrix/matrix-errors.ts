/**
 * Turns matrix-js-sdk request failures into the gateway's platform errors: 429 / `M_LIMIT_EXCEEDED`
 * becomes FloodControlError with the server's `retry_after_ms` (or Retry-After header), and an edit
 * the server refuses for good (`M_FORBIDDEN`, `M_NOT_FOUND`) becomes EditFailedError. Anything else is
 * returned unchanged.
 */
import { MatrixError, safeGetRetryAfterMs } from 'matrix-js-sdk';
import { EditFailedError, FloodControlError } from '../../types.ts';

/** A 429 without a usable delay: wait this long (Synapse's default refill is one event per 5 s). */
const DEFAULT_RETRY_AFTER_MS = 5000;

const PERMANENT_EDIT_FAILURES: ReadonlySet<string> = new Set(['M_FORBIDDEN', 'M_NOT_FOUND']);

export function mapSendError(error: unknown): unknown {
  if (error instanceof MatrixError && error.isRateLimitError()) {
    return new FloodControlError(safeGetRetryAfterMs(error, DEFAULT_RETRY_AFTER_MS));
  }
  return error;
}

export function mapEditError(error: unknown): unknown {
  const mapped = mapSendError(error);
  if (mapped === error && error instanceof MatrixError && PERMANENT_EDIT_FAILURES.has(error.errcode ?? '')) {
    return new EditFailedError(`Matrix refused the edit: ${error.errcode}`, { cause: error });
  }
  return mapped;
}
