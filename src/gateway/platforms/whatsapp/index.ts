/**
 * Front door of the WhatsApp adapter: the composition root builds a `WhatsAppPlatform` when WhatsApp is
 * linked or enabled; the CLI (and `herald setup`) link and unlink the account with `linkWhatsApp` /
 * `unlinkWhatsApp`. Importing this loads Baileys; nothing else in the folder is meant to be imported
 * from outside.
 */
export { linkedNumber } from './whatsapp-auth.ts';
export { WhatsAppError, type WhatsAppErrorCode } from './whatsapp-errors.ts';
export {
  type LinkResult,
  type LinkWhatsAppOptions,
  linkWhatsApp,
  type UnlinkWhatsAppOptions,
  unlinkWhatsApp,
} from './whatsapp-link.ts';
export { WhatsAppPlatform, type WhatsAppPlatformOptions } from './whatsapp-platform.ts';
export type { CreateWhatsAppSocket, WhatsAppSocket } from './whatsapp-socket.ts';
