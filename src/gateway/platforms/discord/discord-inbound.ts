/**
 * Maps a discord.js `Message` to Herald's `InboundMessage`: who wrote it, where to answer (a thread
 * is answered in the thread, keyed under its parent channel), whether it was a DM, and whether the
 * bot was addressed (an @-mention or a reply to one of the bot's messages). It drops bots, the bot
 * itself and messages with nothing to say; access control is the gateway's job, not this module's.
 */
import type { Message } from 'discord.js';
import type { InboundMessage } from '../../types.ts';

export function toInboundMessage(message: Message, botUserId: string): InboundMessage | undefined {
  if (message.author.bot || message.author.id === botUserId) return undefined;

  const mentioned = message.mentions.users.has(botUserId);
  const repliedToBot = message.mentions.repliedUser?.id === botUserId;
  const text = stripBotMention(message.content, botUserId);
  if (text.length === 0) return undefined;

  const channel = message.channel;
  const inThread = channel.isThread();
  return {
    platform: 'discord',
    chatId: inThread ? (channel.parentId ?? channel.id) : channel.id,
    threadId: inThread ? channel.id : undefined,
    userId: message.author.id,
    userName: message.author.globalName ?? message.author.username,
    messageId: message.id,
    text,
    isPrivate: message.guildId === null,
    addressedToBot: mentioned || repliedToBot,
  };
}

/** Removes `<@id>` / `<@!id>` mentions of the bot so the agent sees only the request. */
export function stripBotMention(content: string, botUserId: string): string {
  // Only the mention goes; whitespace inside the request (code blocks, lists) is kept as written.
  return content.replaceAll(new RegExp(`<@!?${botUserId}>`, 'g'), '').trim();
}
