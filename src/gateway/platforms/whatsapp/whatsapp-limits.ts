/**
 * How WhatsApp measures a Herald message. WhatsApp accepts far longer texts (about 65,536 characters
 * is the commonly cited cap), but a reply split at 4,000 characters stays readable on a phone and
 * editable without resending a wall of text. The length is counted on what is actually sent: the
 * reply prefix plus the formatted text, in UTF-16 units (never less than a code-point count).
 * Edits are kept sparse (3 s) because every edit is a new protocol message and bursts of them are
 * what gets numbers banned. This module does not split text; the StreamConsumer does.
 */
import type { PlatformLimits } from '../../types.ts';
import { toWhatsAppText } from './whatsapp-format.ts';

export const WHATSAPP_MAX_MESSAGE_LENGTH = 4000;
export const WHATSAPP_EDIT_INTERVAL_MS = 3000;
/** WhatsApp lets you edit your own message for about 15 minutes; stop a little before. */
export const WHATSAPP_EDIT_WINDOW_MS = 14 * 60 * 1000;

export function whatsappLimits(prefix: string): PlatformLimits {
  return {
    maxMessageLength: WHATSAPP_MAX_MESSAGE_LENGTH,
    countLength: (text) => prefix.length + toWhatsAppText(text).length,
    defaultEditIntervalMs: WHATSAPP_EDIT_INTERVAL_MS,
    defaultGroupEditIntervalMs: WHATSAPP_EDIT_INTERVAL_MS,
  };
}
