/**
 * How Matrix measures a message. The spec caps a whole event at 65,536 bytes of canonical JSON, and
 * the biggest event a reply produces is an edit: its content carries the text twice (the `* text`
 * fallback and `m.new_content.body`) plus the HTML body. So a message's length is counted as the UTF-8
 * bytes of exactly those JSON strings, and the limit leaves ~5 kB for the relation, event ids,
 * signatures and the server's envelope. This module does not split text.
 */
import type { PlatformLimits } from '../../types.ts';
import { toMatrixHtml } from './matrix-html.ts';

/** Bytes of message text (counted as above) per Matrix event; the event limit is 65,536. */
export const MATRIX_MAX_MESSAGE_BYTES = 60_000;

/**
 * Synapse's default `rc_message` allows a burst of 10 events, then one every 5 s per user; edits count
 * as events. One edit every 2 s keeps a typical reply inside the burst and lets 429s (with
 * `retry_after_ms`) pace longer ones.
 */
export const MATRIX_EDIT_INTERVAL_MS = 2000;

export function countMatrixLength(text: string): number {
  const body = Buffer.byteLength(JSON.stringify(text));
  return 2 * body + Buffer.byteLength(JSON.stringify(toMatrixHtml(text)));
}

export const matrixLimits: PlatformLimits = {
  maxMessageLength: MATRIX_MAX_MESSAGE_BYTES,
  countLength: countMatrixLength,
  defaultEditIntervalMs: MATRIX_EDIT_INTERVAL_MS,
};
