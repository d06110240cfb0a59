/**
 * The header Herald puts before every WhatsApp message it sends (`platforms.whatsapp.reply_prefix`,
 * env `WHATSAPP_REPLY_PREFIX`). On a personal number the bot writes as the account's owner, so without
 * a header nobody could tell the agent's words from the owner's; in self-chat the header is also how
 * the agent's own messages are told apart from the owner's. This module only resolves the configured
 * value; echo suppression lives in whatsapp-inbound.ts.
 */

/** Unset `reply_prefix`: the agent's name in bold on a line of its own. */
export const DEFAULT_REPLY_PREFIX = '⚕ *Herald*\n';

/**
 * Unset → the default header; `''` → no header at all; anything else as written, with `\n` escapes
 * turned into real newlines (YAML plain scalars and env values cannot hold a newline comfortably).
 */
export function resolveReplyPrefix(configured: string | undefined): string {
  if (configured === undefined) return DEFAULT_REPLY_PREFIX;
  return configured.replaceAll('\\n', '\n');
}
