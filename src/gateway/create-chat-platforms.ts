/**
 * Builds the chat platforms config enables: a platform runs when its token is set (for WhatsApp: when
 * `herald whatsapp link` saved a linked device in HERALD_HOME/whatsapp) or `platforms.<name>.enabled`
 * is true (and not when `enabled: false`). An enabled platform without its
 * credentials is reported and skipped rather than crashing the gateway. The composition root passes
 * the result, with the API server, to the GatewayRunner. Each platform's library (grammY, discord.js,
 * Bolt, Baileys, imapflow/nodemailer, dingtalk-stream, matrix-js-sdk, @mattermost/client) is imported only when that platform is enabled: discord.js alone costs ~600 ms of startup and
 * tens of MiB of memory that a gateway without Discord should not pay.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { heraldPaths } from '../config/paths.ts';
import type { HeraldConfig } from '../config/schema.ts';
import type { Logger } from '../logger.ts';
import type { ChatPlatform } from './types.ts';

function wanted(section: { enabled?: boolean | undefined }, hasCredentials: boolean): boolean {
  return section.enabled ?? hasCredentials;
}

function missingCredentials(logger: Logger, platform: string, needed: string): void {
  logger.error(
    { event: 'platform_missing_credentials', platform },
    `platforms.${platform}.enabled is true but its credentials are missing: set ${needed}`,
  );
}

export async function createChatPlatforms(config: HeraldConfig, logger: Logger): Promise<ChatPlatform[]> {
  const platforms: ChatPlatform[] = [];
  const { telegram } = config.platforms;
  if (wanted(telegram, Boolean(telegram.token))) {
    if (!telegram.token) {
      missingCredentials(logger, 'telegram', 'TELEGRAM_BOT_TOKEN or platforms.telegram.token');
    } else {
      const { TelegramPlatform } = await import('./platforms/telegram/index.ts');
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

  const { discord } = config.platforms;
  if (wanted(discord, Boolean(discord.token))) {
    if (!discord.token) missingCredentials(logger, 'discord', 'DISCORD_BOT_TOKEN or platforms.discord.token');
    else {
      const { DiscordPlatform } = await import('./platforms/discord/index.ts');
      platforms.push(new DiscordPlatform({ config: { ...discord, token: discord.token }, logger }));
    }
  }

  const { slack } = config.platforms;
  if (wanted(slack, Boolean(slack.bot_token && slack.app_token))) {
    if (!slack.bot_token || !slack.app_token) {
      missingCredentials(logger, 'slack', 'SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode)');
    } else {
      const { SlackPlatform } = await import('./platforms/slack/index.ts');
      platforms.push(
        new SlackPlatform({
          config: { ...slack, bot_token: slack.bot_token, app_token: slack.app_token },
          logger,
        }),
      );
    }
  }

  const { whatsapp } = config.platforms;
  const authDir = heraldPaths(config.home).whatsappAuth;
  // Only whether creds exist, so a gateway without WhatsApp never loads Baileys; the platform checks
  // that they hold a linked device and says how to link when they do not.
  if (wanted(whatsapp, existsSync(join(authDir, 'creds.json')))) {
    const { WhatsAppPlatform } = await import('./platforms/whatsapp/index.ts');
    platforms.push(new WhatsAppPlatform({ config: whatsapp, authDir, logger }));
  }

  const { email } = config.platforms;
  if (wanted(email, Boolean(email.imap.host && email.imap.user && email.smtp.host))) {
    if (!email.imap.host || !email.imap.user || !email.smtp.host) {
      missingCredentials(logger, 'email', 'EMAIL_IMAP_HOST, EMAIL_IMAP_USER and EMAIL_SMTP_HOST');
    } else {
      const { EmailPlatform } = await import('./platforms/email/index.ts');
      platforms.push(new EmailPlatform({ config: email, logger }));
    }
  }

  const { dingtalk } = config.platforms;
  if (wanted(dingtalk, Boolean(dingtalk.client_id && dingtalk.client_secret))) {
    if (!dingtalk.client_id || !dingtalk.client_secret) {
      missingCredentials(logger, 'dingtalk', 'DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET');
    } else {
      const { DingTalkPlatform } = await import('./platforms/dingtalk/index.ts');
      platforms.push(
        new DingTalkPlatform({
          config: { ...dingtalk, client_id: dingtalk.client_id, client_secret: dingtalk.client_secret },
          logger,
        }),
      );
    }
  }

  const { matrix } = config.platforms;
  const matrixCredentials = Boolean(matrix.access_token || (matrix.user_id && matrix.password));
  if (wanted(matrix, Boolean(matrix.homeserver && matrixCredentials))) {
    if (!matrix.homeserver || !matrixCredentials) {
      missingCredentials(
        logger,
        'matrix',
        'MATRIX_HOMESERVER and MATRIX_ACCESS_TOKEN (or MATRIX_USER_ID and MATRIX_PASSWORD)',
      );
    } else {
      const { MatrixPlatform } = await import('./platforms/matrix/index.ts');
      platforms.push(new MatrixPlatform({ config: { ...matrix, homeserver: matrix.homeserver }, logger }));
    }
  }

  const { mattermost } = config.platforms;
  if (wanted(mattermost, Boolean(mattermost.url && mattermost.token))) {
    if (!mattermost.url || !mattermost.token) {
      missingCredentials(logger, 'mattermost', 'MATTERMOST_URL and MATTERMOST_TOKEN');
    } else {
      const { MattermostPlatform } = await import('./platforms/mattermost/index.ts');
      platforms.push(
        new MattermostPlatform({
          config: { ...mattermost, url: mattermost.url, token: mattermost.token },
          logger,
        }),
      );
    }
  }

  return platforms;
}
