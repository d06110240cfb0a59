/**
 * Keeps one chat platform connected by exactly one replica of a shared store: it claims the platform's
 * lease (PlatformLeases) at start and every third of the lease, and tells its owner when this replica
 * becomes the leader (connect the platform) or stops being it (disconnect: another replica took an
 * expired lease, or the database could not confirm the lease before it ran out). While another replica
 * leads it reports that replica as the leader. It neither connects platforms itself nor knows which they
 * are; the GatewayRunner decides which adapters need a leader.
 */
import type { Logger } from '../logger.ts';
import type { PlatformLeases } from '../store/index.ts';

export interface PlatformLeaderOptions {
  leases: PlatformLeases;
  platform: string;
  /** This replica now holds the lease: connect. Not awaited, so a slow connect never delays a renewal. */
  onElected: () => void;
  /** This replica lost the lease: disconnect. Awaited before the next claim. */
  onDeposed: () => Promise<void>;
  /** Another replica holds the lease (its instance id; '' when unknown), or a claim failed while standing by. */
  onStandby: (leader: string, error?: unknown) => void;
  logger: Logger;
}

export class PlatformLeader {
  readonly #options: PlatformLeaderOptions;
  #leading = false;
  /** Until when (local clock) the last confirmed claim holds the lease, counted from before it was sent. */
  #heldUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> | undefined;
  #stopped = false;

  constructor(options: PlatformLeaderOptions) {
    this.#options = options;
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** Makes the first claim (settled when this returns) and keeps claiming in the background. */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.#claim();
  }

  /** Stops claiming; the lease is kept until `release` (after the platform is disconnected). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#tick;
  }

  /** Gives the lease up so a standby replica takes over at its next claim instead of after expiry. */
  async release(): Promise<void> {
    if (!this.#leading) return;
    this.#leading = false;
    await this.#options.leases.release(this.#options.platform).catch((error: unknown) => {
      this.#options.logger.warn(
        { event: 'gateway_platform_lease_release_failed', platform: this.#options.platform, err: error },
        'could not release the platform lease; it expires by itself',
      );
    });
  }

  #claim(): Promise<void> {
    this.#tick = this.#claimOnce().finally(() => {
      this.#tick = undefined;
      if (this.#stopped) return;
      this.#timer = setTimeout(() => void this.#claim(), Math.max(500, this.#options.leases.leaseMs / 3));
      this.#timer.unref();
    });
    return this.#tick;
  }

  async #claimOnce(): Promise<void> {
    const { leases, platform, logger } = this.#options;
    const sentAt = Date.now();
    let holder: string;
    try {
      holder = await leases.claim(platform);
    } catch (error) {
      if (this.#leading && Date.now() >= this.#heldUntil) {
        await this.#depose('lease_unconfirmed');
      }
      if (!this.#leading) this.#options.onStandby('', error);
      logger.warn(
        { event: 'gateway_platform_lease_failed', platform, err: error },
        'platform lease claim failed',
      );
      return;
    }
    if (holder === leases.holder) {
      this.#heldUntil = sentAt + leases.leaseMs;
      if (this.#leading) return;
      // Held even when stopping meanwhile, so that `release` gives it back.
      this.#leading = true;
      if (this.#stopped) return;
      logger.info({ event: 'gateway_platform_elected', platform }, 'this replica now connects the platform');
      this.#options.onElected();
      return;
    }
    if (this.#leading) await this.#depose('lease_taken', holder);
    this.#options.onStandby(holder);
  }

  async #depose(reason: string, holder?: string): Promise<void> {
    this.#leading = false;
    this.#options.logger.warn(
      { event: 'gateway_platform_deposed', platform: this.#options.platform, reason, leader: holder },
      'this replica lost the platform lease; disconnecting the platform',
    );
    await this.#options.onDeposed();
  }
}
