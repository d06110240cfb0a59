/**
 * The slice of a Baileys socket Herald uses, and the factory that builds the real one. The platform and
 * the link command take a `CreateWhatsAppSocket`, so tests drive them with a fake socket (Baileys' own
 * event emitter, recorded `sendMessage` calls) instead of WhatsApp's binary Noise protocol, which no
 * local fake speaks. The real factory loads the multi-file auth state from `authDir`, saves credentials
 * on every `creds.update`, and turns off what a gateway must not do: history sync, showing the account
 * online, printing QR codes itself. It does not reconnect; whatsapp-platform.ts and whatsapp-link.ts do.
 */
import {
  type AnyMessageContent,
  type BaileysEventEmitter,
  type ConnectionState,
  type Contact,
  fetchLatestWaWebVersion,
  type MiscMessageGenerationOptions,
  makeWASocket,
  useMultiFileAuthState,
  type WAMessage,
  type WAPresence,
} from 'baileys';
import type { Logger } from '../../../logger.ts';

export interface WhatsAppSocket {
  readonly ev: BaileysEventEmitter;
  /** The linked account (`id` with its device suffix, `lid` when WhatsApp assigned one); set once open. */
  readonly user: Contact | undefined;
  sendMessage(
    jid: string,
    content: AnyMessageContent,
    options?: MiscMessageGenerationOptions,
  ): Promise<WAMessage | undefined>;
  sendPresenceUpdate(type: WAPresence, jid?: string): Promise<void>;
  /** Asks WhatsApp for an 8-character code to link by phone number instead of a QR code. */
  requestPairingCode(phoneNumber: string): Promise<string>;
  /** Unlinks this device on WhatsApp's side. */
  logout(message?: string): Promise<void>;
  /** Closes the connection without unlinking. */
  end(error: Error | undefined): void;
}

export interface CreateWhatsAppSocketOptions {
  /** HERALD_HOME/whatsapp: Baileys' multi-file auth state. */
  authDir: string;
  logger: Logger;
}

export type CreateWhatsAppSocket = (options: CreateWhatsAppSocketOptions) => Promise<WhatsAppSocket>;

export type ConnectionUpdate = Partial<ConnectionState>;

/** How long to wait for WhatsApp Web's current version before connecting with Baileys' built-in one. */
const VERSION_LOOKUP_TIMEOUT_MS = 5000;

export const createBaileysSocket: CreateWhatsAppSocket = async ({ authDir, logger }) => {
  const { state, saveCreds } = await useMultiFileAuthState(authDir);
  // WhatsApp refuses clients whose version is too old; Baileys' pinned one ages with the package.
  const { version } = await fetchLatestWaWebVersion({ timeout: VERSION_LOOKUP_TIMEOUT_MS });
  const socket = makeWASocket({
    auth: state,
    version,
    // Baileys' info lines are chatter and its debug lines carry message payloads: warnings and up only.
    logger: logger.child({ component: 'baileys' }, { level: logger.levelVal > 40 ? logger.level : 'warn' }),
    browser: ['Herald', 'Chrome', '1.0'],
    printQRInTerminal: false,
    markOnlineOnConnect: false,
    syncFullHistory: false,
    shouldSyncHistoryMessage: () => false,
  });
  socket.ev.on('creds.update', () => {
    saveCreds().catch((error: unknown) => logger.error({ event: 'whatsapp.creds_save_failed', err: error }));
  });
  return socket;
};
