/**
 * Maps a Matrix `m.room.message` event to an `InboundMessage`. Only `m.text` from other users counts
 * (notices are what bots send; edits are not new requests). A room with two joined members is a
 * direct chat; elsewhere the message must address the bot: an intentional mention (`m.mentions`),
 * a mention pill or the bot's id/display name in the text, or a reply to one of the bot's messages. A
 * message in a thread (`m.thread` relation) is answered in that thread. The reply fallback (`> …`
 * quote) and the mention are stripped, and `!new`/`!stop`/`!status`/`!help` are read as the slash
 * commands, because Element and other clients claim `/…` for their own commands. Access control is
 * the gateway's job, not this module's.
 */
import { z } from 'zod';
import type { InboundMessage } from '../../types.ts';

const relationSchema = z
  .object({
    rel_type: z.string().optional(),
    event_id: z.string().optional(),
    is_falling_back: z.boolean().optional(),
    'm.in_reply_to': z.object({ event_id: z.string() }).optional(),
  })
  .optional();

const messageContentSchema = z.object({
  msgtype: z.literal('m.text'),
  body: z.string(),
  formatted_body: z.string().optional(),
  'm.relates_to': relationSchema,
  'm.mentions': z.object({ user_ids: z.array(z.string()).optional() }).optional(),
});

export interface MatrixMessageEvent {
  eventId: string;
  roomId: string;
  sender: string;
  content: unknown;
}

export interface MatrixRoomFacts {
  botUserId: string;
  botDisplayName: string | undefined;
  /** Joined members of the room, the bot included. */
  joinedMembers: number;
  /** Whether `eventId` is a message the bot sent (for replies to the bot). */
  isBotEvent(eventId: string): boolean;
}

const gatewayCommand = /^!(new|stop|status|help|start)\b/i;

export function toInboundMessage(
  event: MatrixMessageEvent,
  facts: MatrixRoomFacts,
): InboundMessage | undefined {
  if (event.sender === facts.botUserId) return undefined;
  const parsed = messageContentSchema.safeParse(event.content);
  if (!parsed.success) return undefined;
  const content = parsed.data;
  const relation = content['m.relates_to'];
  if (relation?.rel_type === 'm.replace') return undefined;

  const inReplyTo = relation?.is_falling_back ? undefined : relation?.['m.in_reply_to']?.event_id;
  const mentioned =
    content['m.mentions']?.user_ids?.includes(facts.botUserId) === true ||
    content.body.includes(facts.botUserId) ||
    content.formatted_body?.includes(`matrix.to/#/${facts.botUserId}`) === true ||
    content.formatted_body?.includes(`matrix.to/#/${encodeURIComponent(facts.botUserId)}`) === true ||
    startsWithName(content.body, facts.botDisplayName);
  const repliesToBot = inReplyTo !== undefined && facts.isBotEvent(inReplyTo);
  const isPrivate = facts.joinedMembers <= 2;

  let text = inReplyTo ? stripReplyFallback(content.body) : content.body;
  text = stripMention(text, facts.botUserId, facts.botDisplayName).replace(gatewayCommand, '/$1');
  if (!text) return undefined;
  return {
    platform: 'matrix',
    chatId: event.roomId,
    ...(relation?.rel_type === 'm.thread' && relation.event_id ? { threadId: relation.event_id } : {}),
    userId: event.sender,
    messageId: event.eventId,
    text,
    isPrivate,
    addressedToBot: mentioned || repliesToBot,
  };
}

function startsWithName(body: string, name: string | undefined): boolean {
  return name !== undefined && name !== '' && body.toLowerCase().startsWith(name.toLowerCase());
}

/** Clients before Matrix 1.13 quote the replied-to message as `> ` lines and a blank line first. */
function stripReplyFallback(body: string): string {
  const lines = body.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith('>')) i++;
  if (i === 0) return body;
  return lines.slice(lines[i] === '' ? i + 1 : i).join('\n');
}

/** Removes the bot's user id anywhere and its display name (as a pill's text) at the start. */
function stripMention(text: string, botUserId: string, displayName: string | undefined): string {
  let out = text.replaceAll(botUserId, '').trim();
  if (startsWithName(out, displayName)) out = out.slice(displayName!.length);
  return out.replace(/^[:,]\s*/, '').trim();
}
