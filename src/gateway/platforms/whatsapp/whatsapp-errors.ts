/**
 * WhatsApp failures Herald explains to the operator, each with a stable `code`, and the one reading of
 * why Baileys closed a connection. Messages say what to do (relink, stop the other client); the CLI's
 * exit handler and the gateway's start-retry log show them as they are. Nothing here talks to WhatsApp.
 */
import { DisconnectReason } from 'baileys';
import type { ConnectionUpdate } from './whatsapp-socket.ts';

export type WhatsAppErrorCode =
  | 'whatsapp_not_linked'
  | 'whatsapp_logged_out'
  | 'whatsapp_replaced'
  | 'whatsapp_link_failed'
  | 'whatsapp_not_connected';

export class WhatsAppError extends Error {
  readonly code: WhatsAppErrorCode;
  constructor(code: WhatsAppErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WhatsAppError';
    this.code = code;
  }
}

export const RELINK_HINT = 'run `herald whatsapp link` (QR code, or --phone <number> for a pairing code)';

export function notLinkedError(): WhatsAppError {
  return new WhatsAppError('whatsapp_not_linked', `WhatsApp is not linked: ${RELINK_HINT}`);
}

export function loggedOutError(): WhatsAppError {
  return new WhatsAppError(
    'whatsapp_logged_out',
    `WhatsApp logged this device out (removed under Linked devices, or the phone unlinked it); its auth state was deleted. To use WhatsApp again, ${RELINK_HINT}`,
  );
}

/** The status code Baileys closed with (a Boom's `output.statusCode`), e.g. `DisconnectReason.loggedOut`. */
export function disconnectCode(update: ConnectionUpdate): number | undefined {
  const error = update.lastDisconnect?.error as { output?: { statusCode?: unknown } } | undefined;
  const code = error?.output?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** Closes after which connecting again cannot help. */
export function closeError(code: number | undefined): WhatsAppError | undefined {
  if (code === DisconnectReason.loggedOut) return loggedOutError();
  if (code === DisconnectReason.connectionReplaced) {
    return new WhatsAppError(
      'whatsapp_replaced',
      'another client opened this WhatsApp session (a second `herald serve` on the same HERALD_HOME copy?); stop it, then restart Herald',
    );
  }
  return undefined;
}
