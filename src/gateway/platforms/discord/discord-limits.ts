/**
 * How Discord measures a message. Discord's API is Python 3 and counts `content` in Unicode code
 * points (staff answer in discord/discord-api-docs#1315), so an emoji outside the BMP is one
 * character there but two UTF-16 units in a JS string. Counting code points lets a reply use the
 * full 2000 without ever exceeding it. This module does not split text; the StreamConsumer does.
 */
import type { PlatformLimits } from '../../types.ts';

/** Max `content` length of a bot message (the 4000 limit is for Nitro users only). */
export const DISCORD_MAX_MESSAGE_LENGTH = 2000;

/** Discord documents no edit limit; about one edit per second per message stays clear of buckets. */
export const DISCORD_EDIT_INTERVAL_MS = 1200;

export function countDiscordLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

export const discordLimits: PlatformLimits = {
  maxMessageLength: DISCORD_MAX_MESSAGE_LENGTH,
  countLength: countDiscordLength,
  defaultEditIntervalMs: DISCORD_EDIT_INTERVAL_MS,
};
