/**
 * Maps a Mattermost websocket `posted` event to an `InboundMessage`. The event's `post` (and
 * `mentions`) arrive as JSON strings inside the event; both are parsed and validated here. Direct
 * channels (`channel_type` D) are private; in other channels a post must @-mention the bot and is
 * answered in a thread (the post's own thread, or a new one under it). Posts by the bot or other
 * bots, system messages and empty posts are dropped; the mention is stripped and `!new`/`!stop`/
 * `!status`/`!help` read as the slash commands, since Mattermost's clients send `/…` to the server's
 * own slash commands. Access control is the gateway's job, not this module's.
 */
import { z } from 'zod';
import type { InboundMessage } from '../../types.ts';

const jsonString = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

const postSchema = z.object({
  id: z.string().min(1),
  user_id: z.string().min(1),
  channel_id: z.string().min(1),
  root_id: z.string().default(''),
  message: z.string().default(''),
  type: z.string().default(''),
  props: z.record(z.string(), z.unknown()).nullish(),
});

const postedSchema = z.object({
  event: z.literal('posted'),
  data: z.object({
    post: jsonString(postSchema),
    channel_type: z.string().default(''),
    sender_name: z.string().optional(),
    mentions: jsonString(z.array(z.string())).optional(),
  }),
});

export interface MattermostBot {
  userId: string;
  username: string;
}

const gatewayCommand = /^!(new|stop|status|help|start)\b/i;

export function toInboundMessage(payload: unknown, bot: MattermostBot): InboundMessage | undefined {
  const parsed = postedSchema.safeParse(payload);
  if (!parsed.success) return undefined;
  const { post, channel_type: channelType, sender_name: senderName, mentions } = parsed.data.data;
  if (post.user_id === bot.userId || post.type !== '' || post.props?.from_bot === 'true') return undefined;

  const mentionPattern = new RegExp(`(^|[^\\w.-])@${escapeRegExp(bot.username)}(?![\\w-])`, 'gi');
  const mentioned = mentions?.includes(bot.userId) === true || post.message.search(mentionPattern) !== -1;
  const text = post.message.replace(mentionPattern, '$1').trim().replace(gatewayCommand, '/$1');
  if (!text) return undefined;
  const isPrivate = channelType === 'D';
  const threadId = post.root_id || (isPrivate ? undefined : post.id);
  return {
    platform: 'mattermost',
    chatId: post.channel_id,
    ...(threadId ? { threadId } : {}),
    userId: post.user_id,
    ...(senderName ? { userName: senderName.replace(/^@/, '') } : {}),
    messageId: post.id,
    text,
    isPrivate,
    addressedToBot: mentioned,
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
