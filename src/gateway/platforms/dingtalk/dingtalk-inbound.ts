/**
 * Turns a DingTalk robot callback (Stream topic `/v1.0/im/bot/messages/get`) into an InboundMessage,
 * validating the payload with zod. Only text messages are taken. In group chats DingTalk delivers a
 * message to the robot only when it is @-mentioned, and says so in `isInAtList`; a message without that
 * flag counts as addressed, since it could not have arrived otherwise.
 */
import { z } from 'zod';
import type { InboundMessage } from '../../types.ts';

const robotMessage = z.object({
  msgId: z.string(),
  msgtype: z.string(),
  conversationId: z.string(),
  /** "1" private, "2" group. */
  conversationType: z.string(),
  senderStaffId: z.string().optional(),
  senderId: z.string(),
  senderNick: z.string().optional(),
  isInAtList: z.boolean().optional(),
  sessionWebhook: z.string(),
  sessionWebhookExpiredTime: z.number().optional(),
  text: z.object({ content: z.string() }).optional(),
});

export type RobotMessage = z.infer<typeof robotMessage>;

export function parseRobotMessage(data: string): RobotMessage | undefined {
  try {
    const parsed = robotMessage.safeParse(JSON.parse(data));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function toInboundMessage(message: RobotMessage): InboundMessage | undefined {
  if (message.msgtype !== 'text' || !message.text) return undefined;
  const isPrivate = message.conversationType === '1';
  return {
    platform: 'dingtalk',
    chatId: message.conversationId,
    userId: message.senderStaffId || message.senderId,
    ...(message.senderNick ? { userName: message.senderNick } : {}),
    messageId: message.msgId,
    text: message.text.content.trim(),
    isPrivate,
    addressedToBot: isPrivate || message.isInAtList !== false,
  };
}
