/**
 * How Mattermost measures a post. The server rejects a `message` longer than 16,383 runes
 * (`PostMessageMaxRunesV2`), i.e. Unicode code points, so length is counted in code points. Markdown
 * is Mattermost's own format, so the text is sent as the agent wrote it. This module does not split.
 */
import type { PlatformLimits } from '../../types.ts';

export const MATTERMOST_MAX_POST_LENGTH = 16_383;

/**
 * Mattermost's API rate limit is off by default; when enabled its default is 10 requests/s per user
 * with a burst of 100, and each edit is broadcast to every client in the channel. One edit a second
 * per reply is far inside that and reads as smooth streaming.
 */
export const MATTERMOST_EDIT_INTERVAL_MS = 1000;

export function countMattermostLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

export const mattermostLimits: PlatformLimits = {
  maxMessageLength: MATTERMOST_MAX_POST_LENGTH,
  countLength: countMattermostLength,
  defaultEditIntervalMs: MATTERMOST_EDIT_INTERVAL_MS,
};
