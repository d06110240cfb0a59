/**
 * Maps Slack Events API payloads (as Bolt delivers them over Socket Mode) to `InboundMessage`s:
 * `message` events in DMs (`channel_type: im`) and `app_mention` events in channels, the latter
 * answered in a thread — the mention's own thread, or a new one under the mention. Payloads are
 * validated with zod; bot messages, edits, deletions and other subtypes are dropped. Access control
 * is the gateway's job, not this module's.
 */
import { z } from 'zod';
import type { InboundMessage } from '../../types.ts';

const slackUserEventSchema = z.object({
  type: z.enum(['message', 'app_mention']),
  channel: z.string().min(1),
  user: z.string().min(1),
  text: z.string().default(''),
  ts: z.string().min(1),
  thread_ts: z.string().optional(),
  channel_type: z.string().optional(),
  subtype: z.string().optional(),
  bot_id: z.string().optional(),
});

/** Message subtypes that are still a person writing to the bot. */
const USER_SUBTYPES: ReadonlySet<string | undefined> = new Set([undefined, 'file_share', 'thread_broadcast']);

export function toInboundMessage(payload: unknown, botUserId: string): InboundMessage | undefined {
  const parsed = slackUserEventSchema.safeParse(payload);
  if (!parsed.success) return undefined;
  const event = parsed.data;
  if (event.bot_id || event.user === botUserId || !USER_SUBTYPES.has(event.subtype)) return undefined;

  const mentionsBot = event.text.includes(`<@${botUserId}`);
  const text = unescapeSlackText(stripBotMention(event.text, botUserId));
  if (text.length === 0) return undefined;

  if (event.type === 'message') {
    // Channel messages arrive only as app_mention; a plain `message` is handled only in DMs.
    if (event.channel_type !== 'im') return undefined;
    return {
      platform: 'slack',
      chatId: event.channel,
      threadId: event.thread_ts,
      userId: event.user,
      messageId: event.ts,
      text,
      isPrivate: true,
      addressedToBot: mentionsBot,
    };
  }
  return {
    platform: 'slack',
    chatId: event.channel,
    threadId: event.thread_ts ?? event.ts,
    userId: event.user,
    messageId: event.ts,
    text,
    isPrivate: false,
    addressedToBot: true,
  };
}

/** Removes `<@BOT>` and `<@BOT|name>` so the agent sees only the request. */
export function stripBotMention(text: string, botUserId: string): string {
  return text.replaceAll(new RegExp(`<@${botUserId}(?:\\|[^>]*)?>`, 'g'), '').trim();
}

/** Slack escapes `&`, `<` and `>` in message text; the agent should see what the person typed. */
function unescapeSlackText(text: string): string {
  return text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
}
