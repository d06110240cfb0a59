/**
 * A local stand-in for WhatsApp behind Baileys: `FakeWhatsApp.createSocket` hands Herald fake sockets
 * whose `ev` is Baileys' own event emitter (`makeEventBuffer`) and whose `sendMessage` builds the real
 * WebMessageInfo with Baileys' `generateWAMessage` (edits become MESSAGE_EDIT protocol messages,
 * deletions REVOKE), records it, and — like Baileys with `emitOwnEvents` — upserts it back as `append`.
 * Tests drive the connection (`open`, `close` with a DisconnectReason, QR codes) and inbound messages
 * shaped as `proto.WebMessageInfo`, and can make the next edits fail. `chat(jid)` replays the recorded
 * messages with their edits and deletions applied: what the person on the other end sees.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AnyMessageContent,
  type BaileysEventEmitter,
  type Contact,
  extractMessageContent,
  generateWAMessage,
  type MiscMessageGenerationOptions,
  makeEventBuffer,
  type proto,
  type WAMessage,
  type WAPresence,
  WAProto,
} from 'baileys';
import { pino } from 'pino';
import type { CreateWhatsAppSocket, WhatsAppSocket } from '../../src/gateway/platforms/whatsapp/index.ts';

export const OWNER_PHONE = '4915100000001';
export const OWNER: Contact = { id: `${OWNER_PHONE}:7@s.whatsapp.net`, lid: '123456789012345:7@lid' };
export const OWNER_JID = `${OWNER_PHONE}@s.whatsapp.net`;
export const OWNER_LID = '123456789012345@lid';

const silent = pino({ level: 'silent' });

export interface SocketCall {
  method: 'sendMessage' | 'sendPresenceUpdate' | 'requestPairingCode' | 'logout' | 'end';
  jid?: string;
  content?: AnyMessageContent;
  options?: MiscMessageGenerationOptions;
  arg?: string;
}

export class FakeWhatsAppSocket implements WhatsAppSocket {
  readonly ev: BaileysEventEmitter = makeEventBuffer(silent);
  user: Contact | undefined;
  readonly calls: SocketCall[] = [];
  /** Every message this socket sent, as Baileys built it. */
  readonly sent: WAMessage[] = [];
  ended = false;
  #refuseEdits = 0;
  pairingCode = 'ABCD1234';

  /** The next `count` edits throw, as a refused or failed edit does in Baileys. */
  refuseEdits(count = 1): void {
    this.#refuseEdits += count;
  }

  async sendMessage(
    jid: string,
    content: AnyMessageContent,
    options?: MiscMessageGenerationOptions,
  ): Promise<WAMessage | undefined> {
    this.calls.push({ method: 'sendMessage', jid, content, ...(options ? { options } : {}) });
    if (!this.user) throw new Error('Connection Closed');
    if ('edit' in content && content.edit && this.#refuseEdits > 0) {
      this.#refuseEdits--;
      throw new Error('edit not accepted');
    }
    const message = await generateWAMessage(jid, content, {
      userJid: this.user.id,
      logger: silent,
      upload: () => Promise.reject(new Error('no media in tests')),
      ...options,
    });
    this.sent.push(message);
    // Baileys (emitOwnEvents) upserts what it sent as history, on the next tick.
    process.nextTick(() => this.ev.emit('messages.upsert', { messages: [message], type: 'append' }));
    return message;
  }

  async sendPresenceUpdate(type: WAPresence, jid?: string): Promise<void> {
    this.calls.push({ method: 'sendPresenceUpdate', arg: type, ...(jid ? { jid } : {}) });
  }

  async requestPairingCode(phoneNumber: string): Promise<string> {
    this.calls.push({ method: 'requestPairingCode', arg: phoneNumber });
    return this.pairingCode;
  }

  async logout(): Promise<void> {
    this.calls.push({ method: 'logout' });
    this.close(401);
  }

  end(error: Error | undefined): void {
    this.calls.push({ method: 'end' });
    if (this.ended) return;
    this.ended = true;
    this.ev.emit('connection.update', {
      connection: 'close',
      lastDisconnect: { error: error ?? closeError(428), date: new Date() },
    });
  }

  open(user: Contact = OWNER): void {
    this.user = user;
    this.ev.emit('connection.update', { connection: 'open' });
  }

  /** Closes as Baileys does: a Boom error whose `output.statusCode` is a `DisconnectReason`. */
  close(statusCode: number): void {
    this.user = undefined;
    this.ended = true;
    this.ev.emit('connection.update', {
      connection: 'close',
      lastDisconnect: { error: closeError(statusCode), date: new Date() },
    });
  }

  qr(ref = 'ref-1'): void {
    this.ev.emit('connection.update', { qr: `${ref},publickey,identitykey,advsecret` });
  }

  receive(message: WAMessage, type: 'notify' | 'append' = 'notify'): void {
    this.ev.emit('messages.upsert', { messages: [message], type });
  }

  /** What the other end of `jid` sees: each message's latest text, deleted ones gone, in send order. */
  chat(jid: string): Array<{ id: string; text: string; edits: number }> {
    const shown: Array<{ id: string; text: string; edits: number }> = [];
    for (const message of this.sent) {
      if (message.key.remoteJid !== jid) continue;
      const protocol = message.message?.protocolMessage;
      if (protocol) {
        const target = shown.find((m) => m.id === protocol.key?.id);
        if (!target) continue;
        if (protocol.type === WAProto.Message.ProtocolMessage.Type.REVOKE)
          shown.splice(shown.indexOf(target), 1);
        else if (protocol.type === WAProto.Message.ProtocolMessage.Type.MESSAGE_EDIT) {
          target.text = textOf(protocol.editedMessage);
          target.edits++;
        }
        continue;
      }
      shown.push({ id: message.key.id!, text: textOf(message.message), edits: 0 });
    }
    return shown;
  }

  /** The `sendMessage` calls that were edits. */
  editCalls(): SocketCall[] {
    return this.calls.filter(
      (c) => c.method === 'sendMessage' && c.content && 'edit' in c.content && c.content.edit,
    );
  }
}

function closeError(statusCode: number): Error {
  return Object.assign(new Error(`Connection closed (${statusCode})`), { output: { statusCode } });
}

function textOf(message: proto.IMessage | null | undefined): string {
  const content = extractMessageContent(message);
  // `||`: protobuf objects carry '' defaults on their prototype.
  return content?.conversation || content?.extendedTextMessage?.text || '';
}

/** Hands out fake sockets and lets a test wait for the next one Herald creates. */
export class FakeWhatsApp {
  readonly sockets: FakeWhatsAppSocket[] = [];
  readonly #waiters: Array<{ count: number; resolve: (socket: FakeWhatsAppSocket) => void }> = [];

  readonly createSocket: CreateWhatsAppSocket = async () => {
    const socket = new FakeWhatsAppSocket();
    this.sockets.push(socket);
    // A real socket connects asynchronously: waiters hear of it once Herald has attached its listeners.
    setImmediate(() => {
      for (const waiter of [...this.#waiters]) {
        if (this.sockets.length >= waiter.count) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve(this.sockets[waiter.count - 1]!);
        }
      }
    });
    return socket;
  };

  /** Resolves with the `n`th socket (1-based) once Herald created it. */
  socket(n: number): Promise<FakeWhatsAppSocket> {
    const existing = this.sockets[n - 1];
    if (existing) return new Promise((resolve) => setImmediate(() => resolve(existing)));
    return new Promise((resolve) => this.#waiters.push({ count: n, resolve }));
  }
}

/** Writes the `creds.json` a linked device leaves behind (only the part Herald reads). */
export function writeLinkedCreds(authDir: string, user: Contact = OWNER): void {
  mkdirSync(authDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(authDir, 'creds.json'), JSON.stringify({ me: { id: user.id, lid: user.lid } }));
}

let nextInboundId = 1;

export interface InboundSpec {
  /** The chat: a person's jid, a group (`…@g.us`), or the owner's own jid for self-chat. */
  chat: string;
  text: string;
  /** Sender in a group. */
  participant?: string;
  fromMe?: boolean;
  id?: string;
  pushName?: string;
  mentions?: string[];
  /** The message being replied to: its author (participant) and id. */
  replyTo?: { participant: string; id: string };
}

/** An inbound message as WhatsApp delivers it: plain `conversation`, or `extendedTextMessage` with context. */
export function inboundMessage(spec: InboundSpec): WAMessage {
  const context =
    spec.mentions || spec.replyTo
      ? {
          ...(spec.mentions ? { mentionedJid: spec.mentions } : {}),
          ...(spec.replyTo
            ? {
                participant: spec.replyTo.participant,
                stanzaId: spec.replyTo.id,
                quotedMessage: { conversation: 'earlier' },
              }
            : {}),
        }
      : undefined;
  return WAProto.WebMessageInfo.fromObject({
    key: {
      remoteJid: spec.chat,
      fromMe: spec.fromMe ?? false,
      id: spec.id ?? `IN${nextInboundId++}`,
      ...(spec.participant ? { participant: spec.participant } : {}),
    },
    message: context
      ? { extendedTextMessage: { text: spec.text, contextInfo: context } }
      : { conversation: spec.text },
    messageTimestamp: Math.floor(Date.now() / 1000),
    ...(spec.pushName ? { pushName: spec.pushName } : {}),
  });
}
