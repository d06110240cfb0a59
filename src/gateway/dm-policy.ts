/**
 * What happens to a message from someone not on a platform's allow-list (`platforms.<name>.dm_policy`):
 * `allowlist` refuses (the gateway's one-time refusal note), `open` admits everyone, `pairing` answers a
 * stranger's first DM with a short code and nothing else, and admits them once an operator ran
 * `herald pairing approve <code>` or an admin's button. The platform's `admins` are always admitted. It only judges; the
 * gateway sends what it says and runs what it admits. Groups never pair: a stranger there is ignored.
 */
import type { HeraldConfig } from '../config/schema.ts';
import type { Logger } from '../logger.ts';
import type { PairingRequest, PairingStore } from '../store/index.ts';
import type { InboundMessage } from './types.ts';

/** The part of the pairing store the gateway needs. */
export type PairingDirectory = Omit<PairingStore, 'pending'>;

export type StrangerVerdict =
  | { verdict: 'admit' }
  /** `pairing`: a code minted now, to offer to the platform's admins. */
  | { verdict: 'reply'; text: string; pairing: PairingRequest }
  | { verdict: 'ignore' }
  | { verdict: 'refuse' };

type PlatformConfig = { admins?: string[]; dm_policy?: 'allowlist' | 'pairing' | 'open' };

export class DmPolicy {
  readonly #platforms: Record<string, PlatformConfig>;
  readonly #pairing: PairingDirectory | undefined;
  readonly #logger: Logger;

  constructor(config: HeraldConfig, pairing: PairingDirectory | undefined, logger: Logger) {
    this.#platforms = config.platforms as Record<string, PlatformConfig>;
    this.#pairing = pairing;
    this.#logger = logger;
  }

  isAdmin(platform: string, userId: string): boolean {
    return this.adminsOf(platform).includes(userId);
  }

  adminsOf(platform: string): readonly string[] {
    return this.#platforms[platform]?.admins ?? [];
  }

  /** An admin's answer to a pairing code (the same as `herald pairing approve|deny`). */
  async settlePairing(code: string, approve: boolean): Promise<PairingRequest | undefined> {
    if (!this.#pairing) return undefined;
    return approve ? this.#pairing.approve(code) : this.#pairing.deny(code);
  }

  /** Judges a message the allow-list refused. */
  async judge(message: InboundMessage): Promise<StrangerVerdict> {
    const settings = this.#platforms[message.platform];
    const policy = settings?.dm_policy ?? 'allowlist';
    if (this.isAdmin(message.platform, message.userId) || policy === 'open') return { verdict: 'admit' };
    if (policy === 'allowlist' || !this.#pairing) return { verdict: 'refuse' };
    if (await this.#pairing.isPaired(message.platform, message.userId)) return { verdict: 'admit' };
    if (!message.isPrivate) return { verdict: 'ignore' };
    const { request, fresh } = await this.#pairing.request(
      message.platform,
      message.userId,
      message.userName,
    );
    if (!fresh) return { verdict: 'ignore' };
    this.#logger.info(
      {
        event: 'gateway_pairing_requested',
        platform: message.platform,
        userId: message.userId,
        code: request.code,
      },
      `pairing requested; to let them in run: herald pairing approve ${request.code}`,
    );
    const minutes = Math.round((request.expiresAt - request.createdAt) / 60_000);
    return {
      verdict: 'reply',
      pairing: request,
      text: `Your pairing code: ${request.code}\nIt is valid for ${minutes} minutes. Send it to the owner of this bot, who can let you in with: herald pairing approve ${request.code}`,
    };
  }
}
