/**
 * Builds the chat platforms config enables: a platform runs when its token is set or
 * `platforms.<name>.enabled` is true (and not when `enabled: false`). An enabled platform without its
 * credentials is reported and skipped rather than crashing the gateway. The composition root passes
 * the result, with the API server, to the GatewayRunner.
 */
import type { HeraldConfig } from '../config/schema.ts';
import type { Logger } from '../logger.ts';
import { TelegramPlatform } from './platforms/telegram/index.ts';
import type { ChatPlatform } from './types.ts';

function wanted(section: { enabled?: boolean | undefined }, hasCredentials: boolean): boolean {
  return section.enabled ?? hasCredentials;
}

export function createChatPlatforms(config: HeraldConfig, logger: Logger): ChatPlatform[] {
  const platforms: ChatPlatform[] = [];
  const { telegram } = config.platforms;
  if (wanted(telegram, Boolean(telegram.token))) {
    if (!telegram.token) {
      logger.error(
        { event: 'platform_missing_credentials', platform: 'telegram' },
        'platforms.telegram.enabled is true but no token is set (TELEGRAM_BOT_TOKEN or platforms.telegram.token)',
      );
    } else {
      platforms.push(
        new TelegramPlatform({
          token: telegram.token,
          ...(telegram.api_root ? { apiRoot: telegram.api_root } : {}),
          replyToMode: telegram.reply_to_mode,
          nativeDrafts: telegram.native_drafts,
          ...(telegram.webhook ? { webhook: telegram.webhook } : {}),
          logger,
        }),
      );
    }
  }

  // ── Discord and Slack: the lead adds their constructors here (src/gateway/platforms/{discord,slack}),
  // following the same pattern: `if (wanted(section, hasCredentials)) platforms.push(new XPlatform({...}))`.

  return platforms;
}
