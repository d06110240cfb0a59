/**
 * Resolves how one platform streams replies, once at startup: the global `streaming:` section merged
 * with `platforms.<name>.streaming`, falling back to the platform's own edit intervals (private and
 * group chats). The result is a plain object handed to every StreamConsumer of that platform; config
 * is not read per message.
 */
import type { HeraldConfig } from '../../config/schema.ts';
import type { PlatformLimits } from '../types.ts';

export interface StreamingSettings {
  /** false: the complete reply is sent once at the end (split), no intermediate edits. */
  enabled: boolean;
  /** Minimum time between two edits (or sends) of the reply in a private chat. */
  editIntervalMs: number;
  /**
   * The same in a group chat (`ReplyTarget.isPrivate` false), where flood limits are per chat.
   * Unset: `editIntervalMs` (resolveStreamingSettings always sets it).
   */
  groupEditIntervalMs?: number;
  /** Characters that trigger the first send; otherwise it happens after `firstChunkDelayMs`. */
  firstChunkChars: number;
  firstChunkDelayMs: number;
  /** Show a `⚙ tool: args` line while a tool runs (edit-based streaming; native streams never get it). */
  toolProgress: boolean;
  /** How often the typing indicator is re-sent while the agent works. */
  typingIntervalMs: number;
  /** Appended to intermediate edits so the user sees the reply is still growing (not to native streams). */
  cursor: string;
}

type StreamingPlatform = 'telegram' | 'discord' | 'slack' | 'whatsapp' | 'dingtalk' | 'matrix' | 'mattermost';
const streamingPlatforms: ReadonlySet<string> = new Set<StreamingPlatform>([
  'telegram',
  'discord',
  'slack',
  'whatsapp',
  'dingtalk',
  'matrix',
  'mattermost',
]);

export function resolveStreamingSettings(
  config: Pick<HeraldConfig, 'streaming' | 'platforms'>,
  platform: string,
  limits: Pick<PlatformLimits, 'defaultEditIntervalMs' | 'defaultGroupEditIntervalMs' | 'streams'>,
): StreamingSettings {
  const global = config.streaming;
  const own = streamingPlatforms.has(platform)
    ? config.platforms[platform as StreamingPlatform].streaming
    : {};
  const editIntervalMs = own.edit_interval_ms ?? global.edit_interval_ms ?? limits.defaultEditIntervalMs;
  return {
    enabled: limits.streams !== false && (own.enabled ?? global.enabled),
    editIntervalMs,
    // An explicit group interval wins; else the platform's group default, never faster than private
    // chats (a user who slows private edits to 5 s does not want groups at Telegram's 3 s).
    groupEditIntervalMs:
      own.group_edit_interval_ms ??
      global.group_edit_interval_ms ??
      Math.max(editIntervalMs, limits.defaultGroupEditIntervalMs ?? editIntervalMs),
    firstChunkChars: own.first_chunk_chars ?? global.first_chunk_chars,
    firstChunkDelayMs: 1000,
    toolProgress: own.tool_progress ?? global.tool_progress,
    typingIntervalMs: 4000,
    cursor: ' ▌',
  };
}
