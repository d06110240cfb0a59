/**
 * Decides whether a message may start an agent run: the sender must be on the platform's allow-list
 * (`platforms.<name>.allowed_users`), and in group chats the message must address the bot (mention or
 * reply). An entry `@example.com` admits every user id ending in it (email senders). An empty
 * allow-list admits nobody; the first refusal per user is logged with the line to add
 * to config, so an operator can allow themselves. It does not reply to anyone.
 */
import type { Logger } from '../logger.ts';
import type { InboundMessage } from './types.ts';

export type AccessVerdict = 'allowed' | 'not-addressed' | 'not-allowed';

export class AccessControl {
  readonly #allowed: ReadonlyMap<string, ReadonlySet<string>>;
  readonly #logger: Logger;
  readonly #warned = new Set<string>();

  /** `allowedUsers` maps a platform name to its allowed user ids (numbers and strings both as strings). */
  constructor(allowedUsers: Record<string, readonly string[]>, logger: Logger) {
    this.#allowed = new Map(
      Object.entries(allowedUsers).map(([name, ids]) => [name, new Set(ids.map(String))]),
    );
    this.#logger = logger;
  }

  #admits(platform: string, userId: string): boolean {
    const allowed = this.#allowed.get(platform);
    if (!allowed) return false;
    if (allowed.has(userId)) return true;
    const at = userId.lastIndexOf('@');
    return at > 0 && allowed.has(userId.slice(at).toLowerCase());
  }

  check(message: InboundMessage): AccessVerdict {
    if (!message.isPrivate && !message.addressedToBot) return 'not-addressed';
    if (this.#admits(message.platform, message.userId)) return 'allowed';
    const key = `${message.platform}:${message.userId}`;
    if (!this.#warned.has(key)) {
      this.#warned.add(key);
      this.#logger.warn(
        { event: 'gateway_user_not_allowed', platform: message.platform, userId: message.userId },
        `message from a user not on the allow-list; to allow them add "${message.userId}" to platforms.${message.platform}.allowed_users in config.yaml`,
      );
    }
    return 'not-allowed';
  }
}
