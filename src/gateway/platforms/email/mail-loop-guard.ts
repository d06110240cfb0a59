/**
 * Decides whether a mail must not be answered because it comes from a machine: the bot's own address,
 * auto-replies (RFC 3834 `Auto-Submitted` other than `no`, `X-Autoreply`, `X-Autorespond`), bulk and
 * list mail (`Precedence: bulk|list|junk`, `List-Id`, `List-Unsubscribe`) and bounces (mailer-daemon,
 * postmaster, empty return path). Answering any of those is how two robots mail each other forever.
 * It returns the reason (for the log) and leaves allow-lists to the gateway.
 */
import { header, type MailHeaders } from './mail-headers.ts';

export function automatedMailReason(
  headers: MailHeaders,
  from: string,
  ownAddress: string | undefined,
): string | undefined {
  const sender = from.toLowerCase();
  if (ownAddress && sender === ownAddress.toLowerCase()) return 'own-address';
  const local = sender.split('@')[0] ?? '';
  if (/^(mailer-daemon|postmaster|no-?reply|do-?not-?reply)$/.test(local)) return 'daemon-sender';
  const autoSubmitted = header(headers, 'auto-submitted')?.toLowerCase();
  if (autoSubmitted && !/^no\b/.test(autoSubmitted)) return 'auto-submitted';
  if (headers.has('x-autoreply') || headers.has('x-autorespond') || headers.has('x-auto-response-suppress'))
    return 'auto-reply-header';
  const precedence = header(headers, 'precedence')?.toLowerCase();
  if (precedence && /^(bulk|list|junk|auto_reply)\b/.test(precedence)) return 'precedence';
  if (headers.has('list-id') || headers.has('list-unsubscribe')) return 'mailing-list';
  if (header(headers, 'return-path')?.trim() === '<>') return 'bounce';
  return undefined;
}
