/**
 * `herald whatsapp link` and `unlink`: makes Herald a linked device of a WhatsApp account, or forgets
 * it. Linking shows a QR code in the terminal (WhatsApp → Linked devices → Link a device), or with a
 * phone number an 8-character pairing code to type in instead, waits until WhatsApp accepted the device
 * (following its routine "restart required" once the code is scanned) and until the credentials are on
 * disk, then closes. Unlinking logs the device out on WhatsApp's side when it can connect, and always
 * deletes the local auth state. These functions are the front door `herald setup` uses too; they write
 * to the `output` they are given and do not touch config.yaml.
 */
import { DisconnectReason } from 'baileys';
import qrcode from 'qrcode-terminal';
import { heraldPaths } from '../../../config/paths.ts';
import { createLogger, type Logger } from '../../../logger.ts';
import { linkedNumber, prepareAuthDir, removeAuthState } from './whatsapp-auth.ts';
import { closeError, disconnectCode, WhatsAppError } from './whatsapp-errors.ts';
import {
  type ConnectionUpdate,
  type CreateWhatsAppSocket,
  createBaileysSocket,
  type WhatsAppSocket,
} from './whatsapp-socket.ts';

export interface LinkWhatsAppOptions {
  /** HERALD_HOME; the auth state goes to HERALD_HOME/whatsapp. */
  home: string;
  /** Link by pairing code for this number (country code first; `+`, spaces and dashes allowed). */
  phone?: string;
  /** Where instructions, the QR code and the pairing code are written (a terminal). */
  output: NodeJS.WritableStream;
  logger?: Logger;
  /** Builds the Baileys socket; tests pass a fake. */
  createSocket?: CreateWhatsAppSocket;
  /** How long to wait for the device to be accepted (default 3 minutes: QR codes rotate for about that). */
  timeoutMs?: number;
}

export interface LinkResult {
  /** The linked account's phone number in digits. */
  number: string;
  /** A device was already linked; nothing was changed. */
  alreadyLinked: boolean;
}

/** Routine restarts WhatsApp may ask for while linking before we give up. */
const MAX_RESTARTS = 3;
/** How long `linkWhatsApp` waits for Baileys to have written the new credentials. */
const CREDS_SAVE_TIMEOUT_MS = 10_000;

export async function linkWhatsApp(options: LinkWhatsAppOptions): Promise<LinkResult> {
  const authDir = heraldPaths(options.home).whatsappAuth;
  const { output } = options;
  const existing = await linkedNumber(authDir);
  if (existing) {
    output.write(
      `WhatsApp is already linked as +${existing}. To link another account, run \`herald whatsapp unlink\` first.\n`,
    );
    return { number: existing, alreadyLinked: true };
  }
  const phone = options.phone === undefined ? undefined : pairingNumber(options.phone);
  await prepareAuthDir(authDir);
  const logger = options.logger ?? createLogger('error');
  const createSocket = options.createSocket ?? createBaileysSocket;
  const deadline = AbortSignal.timeout(options.timeoutMs ?? 180_000);
  let pairingRequested = false;

  for (let restarts = 0; ; restarts++) {
    const socket = await createSocket({ authDir, logger });
    const outcome = await connectionOutcome(socket, deadline, (qr) => {
      if (phone === undefined) {
        output.write('Scan this QR code in WhatsApp → Settings → Linked devices → Link a device:\n\n');
        qrcode.generate(qr, { small: true }, (code) => output.write(`${code}\n`));
        return;
      }
      // A pairing code may be asked for once the socket is ready for a QR login, and only once.
      if (pairingRequested) return;
      pairingRequested = true;
      socket.requestPairingCode(phone).then(
        (code) =>
          output.write(
            `In WhatsApp on +${phone}: Settings → Linked devices → Link a device → Link with phone number instead, and enter:\n\n    ${formatPairingCode(code)}\n\n`,
          ),
        (error: unknown) => socket.end(error instanceof Error ? error : new Error(String(error))),
      );
    });
    if (outcome === 'open') {
      const number = await savedNumber(authDir);
      socket.end(undefined);
      output.write(
        `Linked WhatsApp +${number}. Its credentials are in ${authDir} (keep them secret).\n` +
          `Next: add the numbers allowed to talk to Herald to platforms.whatsapp.allowed_users in config.yaml ` +
          `(your own, ${number}, with platforms.whatsapp.self_chat: true to talk to it by messaging yourself), then run \`herald serve\`.\n`,
      );
      return { number, alreadyLinked: false };
    }
    socket.end(undefined);
    if (outcome === DisconnectReason.restartRequired && restarts < MAX_RESTARTS) continue;
    await removeAuthState(authDir);
    throw linkFailure(outcome, deadline.aborted);
  }
}

export interface UnlinkWhatsAppOptions {
  home: string;
  output: NodeJS.WritableStream;
  logger?: Logger;
  createSocket?: CreateWhatsAppSocket;
  /** How long to try to reach WhatsApp to log the device out (default 20 s). */
  timeoutMs?: number;
}

export async function unlinkWhatsApp(options: UnlinkWhatsAppOptions): Promise<void> {
  const authDir = heraldPaths(options.home).whatsappAuth;
  const { output } = options;
  const number = await linkedNumber(authDir);
  if (!number) {
    await removeAuthState(authDir);
    output.write('WhatsApp is not linked; nothing to unlink.\n');
    return;
  }
  const createSocket = options.createSocket ?? createBaileysSocket;
  const socket = await createSocket({ authDir, logger: options.logger ?? createLogger('error') });
  const outcome = await connectionOutcome(socket, AbortSignal.timeout(options.timeoutMs ?? 20_000), () => {});
  let loggedOut = false;
  if (outcome === 'open') {
    loggedOut = await socket.logout().then(
      () => true,
      () => false,
    );
  }
  socket.end(undefined);
  await removeAuthState(authDir);
  output.write(
    loggedOut || outcome === DisconnectReason.loggedOut
      ? `Unlinked WhatsApp +${number} and deleted its credentials.\n`
      : `Deleted the local WhatsApp credentials of +${number}, but could not reach WhatsApp to log the device out: remove "Herald" under Settings → Linked devices on your phone.\n`,
  );
}

/**
 * Waits for the socket to open or close: `'open'`, or the close's status code (undefined when the
 * deadline passed first). QR codes are handed to `onQr` as WhatsApp rotates them.
 */
function connectionOutcome(
  socket: WhatsAppSocket,
  deadline: AbortSignal,
  onQr: (qr: string) => void,
): Promise<'open' | number | undefined> {
  return new Promise((resolve) => {
    const done = (outcome: 'open' | number | undefined) => {
      socket.ev.off('connection.update', listener);
      deadline.removeEventListener('abort', expired);
      resolve(outcome);
    };
    const expired = () => done(undefined);
    const listener = (update: ConnectionUpdate) => {
      if (update.qr) onQr(update.qr);
      if (update.connection === 'open') done('open');
      else if (update.connection === 'close') done(disconnectCode(update));
    };
    if (deadline.aborted) return resolve(undefined);
    deadline.addEventListener('abort', expired, { once: true });
    socket.ev.on('connection.update', listener);
  });
}

/** Baileys saves credentials asynchronously on `creds.update`; the link is done once they are on disk. */
async function savedNumber(authDir: string): Promise<string> {
  const deadline = Date.now() + CREDS_SAVE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const number = await linkedNumber(authDir);
    if (number) return number;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new WhatsAppError(
    'whatsapp_link_failed',
    `WhatsApp accepted the device but no credentials appeared in ${authDir}`,
  );
}

function linkFailure(code: number | undefined, timedOut: boolean): WhatsAppError {
  if (timedOut || code === DisconnectReason.timedOut) {
    return new WhatsAppError(
      'whatsapp_link_failed',
      'No device was linked in time; run `herald whatsapp link` again.',
    );
  }
  const known = closeError(code);
  return new WhatsAppError(
    'whatsapp_link_failed',
    `Linking WhatsApp failed (${known ? known.message : `connection closed with status ${code ?? 'unknown'}`}).`,
  );
}

/** The number in the digits-only form WhatsApp's pairing wants. */
export function pairingNumber(phone: string): string {
  const digits = phone.replace(/[\s()+-]/g, '');
  if (!/^\d{7,15}$/.test(digits)) {
    throw new WhatsAppError(
      'whatsapp_link_failed',
      `--phone must be a phone number with its country code, e.g. +49 151 23456789 (got "${phone}")`,
    );
  }
  return digits;
}

/** `ABCD1234` → `ABCD-1234`, the way WhatsApp shows it. */
function formatPairingCode(code: string): string {
  return code.length === 8 ? `${code.slice(0, 4)}-${code.slice(4)}` : code;
}
