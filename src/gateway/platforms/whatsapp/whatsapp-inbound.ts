/**
 * Maps a Baileys `WAMessage` to Herald's `InboundMessage`, or drops it. Kept: text (and media captions)
 * in direct chats, group messages (marked addressed when they @-mention the linked account or reply to
 * one of its messages), and — with self-chat on — what the owner writes in their "Message yourself"
 * chat. Dropped: status broadcasts and channels, protocol messages (edits, deletions), anything else the
 * owner writes from their phone, and the agent's own messages coming back (echoes): those carry an id
 * this socket sent, or start with the reply prefix. With an empty prefix only the ids tell them apart,
 * so the platform records every id before sending. User ids are the sender's phone number in digits,
 * matching `platforms.whatsapp.allowed_users`. Access control is the gateway's job, not this module's.
 */
import {
  areJidsSameUser,
  type Contact,
  extractMessageContent,
  getContentType,
  isJidBroadcast,
  isJidGroup,
  isJidNewsletter,
  jidDecode,
  jidNormalizedUser,
  type proto,
  type WAMessage,
} from 'baileys';
import type { InboundMessage } from '../../types.ts';

/** The linked account, as inbound messages refer to it. */
export interface WhatsAppAccount {
  /** Normalised phone-number jid (`4915…@s.whatsapp.net`, no device suffix). */
  jid: string;
  /** Normalised LID (`…@lid`) when WhatsApp assigned one: newer clients address the account by it. */
  lid: string | undefined;
  /** The phone number in digits. */
  phone: string;
}

export interface InboundContext {
  account: WhatsAppAccount;
  selfChat: boolean;
  /** The resolved reply prefix; '' means replies carry none. */
  prefix: string;
  /** True for the id of any message this socket sent (replies, edits, deletions). */
  sentByHerald(id: string): boolean;
}

export function accountOf(user: Contact): WhatsAppAccount {
  const jid = jidNormalizedUser(user.id);
  return {
    jid,
    lid: user.lid ? jidNormalizedUser(user.lid) : undefined,
    phone: jidDecode(jid)?.user ?? '',
  };
}

export function isAccountJid(jid: string | null | undefined, account: WhatsAppAccount): boolean {
  if (!jid) return false;
  return (
    areJidsSameUser(jid, account.jid) || (account.lid !== undefined && areJidsSameUser(jid, account.lid))
  );
}

export function toInboundMessage(message: WAMessage, context: InboundContext): InboundMessage | undefined {
  const { key } = message;
  const chat = key.remoteJid;
  if (!chat || !key.id || isJidBroadcast(chat) || isJidNewsletter(chat)) return undefined;
  if (context.sentByHerald(key.id)) return undefined;
  const read = readText(message.message);
  if (!read) return undefined;
  const { account } = context;

  if (key.fromMe) {
    // The owner writing from their phone: only their own "Message yourself" chat talks to the agent.
    if (!context.selfChat || isJidGroup(chat) || !isAccountJid(chat, account)) return undefined;
    if (context.prefix && read.text.startsWith(context.prefix)) return undefined;
    const text = read.text.trim();
    if (!text) return undefined;
    return {
      platform: 'whatsapp',
      // One chat whether the phone addressed it by number or by LID.
      chatId: account.jid,
      userId: account.phone,
      messageId: key.id,
      text,
      isPrivate: true,
      addressedToBot: true,
    };
  }

  const group = isJidGroup(chat) === true;
  const userId = senderOf(message, chat);
  if (!userId) return undefined;
  const mentioned = read.context?.mentionedJid?.some((jid) => isAccountJid(jid, account)) ?? false;
  const repliedToHerald = isAccountJid(read.context?.participant, account);
  const text = stripMentions(read.text, account).trim();
  if (!text) return undefined;
  return {
    platform: 'whatsapp',
    chatId: chat,
    userId,
    ...(message.pushName ? { userName: message.pushName } : {}),
    messageId: key.id,
    text,
    isPrivate: !group,
    addressedToBot: !group || mentioned || repliedToHerald,
  };
}

/** A short reply read as a possible answer to a numbered approval prompt in its chat. */
export interface PromptReply {
  /** As the prompt was addressed: the chat's jid (the owner's own chat by its phone-number jid). */
  chatId: string;
  /** Who answered: the sender's number, or the linked account's for what the owner wrote on the phone. */
  userId: string;
  text: string;
  /** The message it quotes (a reply to one prompt among several). */
  quotedId: string | undefined;
}

/**
 * Reads any text someone just wrote, the owner's own from their phone in any chat included (so an
 * owner who is an admin can answer a prompt where it shows, and in their "Message yourself" chat
 * without `self_chat`). Herald's own messages are never replies.
 */
export function toPromptReply(message: WAMessage, context: InboundContext): PromptReply | undefined {
  const { key } = message;
  const chat = key.remoteJid;
  if (!chat || !key.id || context.sentByHerald(key.id)) return undefined;
  const read = readText(message.message);
  if (!read) return undefined;
  const { account } = context;
  if (key.fromMe && context.prefix && read.text.startsWith(context.prefix)) return undefined;
  const userId = key.fromMe ? account.phone : senderOf(message, chat);
  if (!userId) return undefined;
  return {
    chatId: key.fromMe && isAccountJid(chat, account) ? account.jid : chat,
    userId,
    text: stripMentions(read.text, account),
    quotedId: read.context?.stanzaId ?? undefined,
  };
}

/** The phone number of who wrote a message someone else sent: the group participant, or the chat. */
function senderOf(message: WAMessage, chat: string): string | undefined {
  const sender = isJidGroup(chat) ? (message.key.participant ?? message.participant) : chat;
  return sender ? jidDecode(sender)?.user : undefined;
}

/** The text a person wrote (message body or media caption) and its context (mentions, quoted message). */
function readText(
  raw: proto.IMessage | null | undefined,
): { text: string; context: proto.IContextInfo | null | undefined } | undefined {
  const content = extractMessageContent(raw);
  const type = getContentType(content);
  if (!content || !type) return undefined;
  switch (type) {
    case 'conversation':
      return content.conversation ? { text: content.conversation, context: undefined } : undefined;
    case 'extendedTextMessage': {
      const body = content.extendedTextMessage;
      return body?.text ? { text: body.text, context: body.contextInfo } : undefined;
    }
    case 'imageMessage':
    case 'videoMessage':
    case 'documentMessage': {
      const body = content[type];
      return body?.caption ? { text: body.caption, context: body.contextInfo } : undefined;
    }
    default:
      return undefined;
  }
}

/** Removes `@<number>` / `@<lid>` mentions of the linked account so the agent sees only the request. */
function stripMentions(text: string, account: WhatsAppAccount): string {
  const ids = [account.phone, jidDecode(account.lid)?.user].filter((id): id is string => Boolean(id));
  return ids.reduce((out, id) => out.replaceAll(new RegExp(`@${id}\\b`, 'g'), ''), text);
}
