/**
 * How Slack measures a message. Slack truncates `text` above 40,000 characters; since the limit
 * applies to what Slack receives, the length is counted after the mrkdwn conversion (escaping `&`
 * as `&amp;` makes text longer), in UTF-16 units, which is never less than a code-point count and
 * so stays safe whichever way Slack counts. This module does not split text.
 */
import type { PlatformLimits } from '../../types.ts';
import { toSlackMrkdwn } from './slack-mrkdwn.ts';

export const SLACK_MAX_MESSAGE_LENGTH = 40_000;
/** chat.update is Tier 3 (50+ per minute); one edit a second per message stays well inside it. */
export const SLACK_EDIT_INTERVAL_MS = 1000;
/** chat.startStream / appendStream / stopStream accept at most this much `markdown_text` per call. */
export const SLACK_STREAM_CHUNK_LENGTH = 12_000;

export function countSlackLength(text: string): number {
  return toSlackMrkdwn(text).length;
}

export const slackLimits: PlatformLimits = {
  maxMessageLength: SLACK_MAX_MESSAGE_LENGTH,
  countLength: countSlackLength,
  defaultEditIntervalMs: SLACK_EDIT_INTERVAL_MS,
};
