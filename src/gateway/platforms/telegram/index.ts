/**
 * The Telegram adapter's front door: the grammY-based `TelegramPlatform` and its Markdown → HTML
 * renderer.
 */

export { renderTelegramHtml } from './telegram-html.ts';
export {
  type ReplyToMode,
  TelegramPlatform,
  type TelegramPlatformOptions,
  telegramLimits,
} from './telegram-platform.ts';
