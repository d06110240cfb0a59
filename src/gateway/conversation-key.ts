/**
 * The key a chat-platform conversation is stored and queued under: platform + chat + thread, plus the
 * user in group chats so two people in one group each get their own conversation. It is a plain string
 * the SessionStore uses as is; nothing parses it back.
 */
import type { InboundMessage } from './types.ts';

export function conversationKey(
  message: Pick<InboundMessage, 'platform' | 'chatId' | 'threadId' | 'userId' | 'isPrivate'>,
): string {
  const parts = [message.platform, message.chatId, message.threadId ?? '-'];
  if (!message.isPrivate) parts.push(message.userId);
  return parts.join(':');
}
