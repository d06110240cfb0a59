/**
 * The set of requests currently running an agent, each with its AbortController, so a graceful
 * shutdown can wait for them to finish on their own for `shutdown_grace_s` and then abort the rest.
 * Routes register a run when it starts and release it when it ends; once draining has begun, new
 * runs are refused with 503. It does not close sockets; the server does that.
 */
import { ServerShutdownError, shuttingDown } from './errors.ts';

export interface ActiveRun {
  readonly signal: AbortSignal;
  /** Unregisters the run; idempotent. */
  release(): void;
}

export class ActiveRuns {
  readonly #runs = new Map<symbol, AbortController>();
  readonly #idleWaiters = new Set<() => void>();
  #draining = false;

  get size(): number {
    return this.#runs.size;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /**
   * Registers a run. `parent` (e.g. the client-disconnect signal) aborts it too. Throws 503 once
   * shutdown has started.
   */
  register(parent?: AbortSignal): ActiveRun {
    if (this.#draining) {
      throw shuttingDown();
    }
    const key = Symbol('run');
    const controller = new AbortController();
    const onParentAbort = () => controller.abort(parent?.reason);
    if (parent?.aborted) controller.abort(parent.reason);
    else parent?.addEventListener('abort', onParentAbort, { once: true });
    this.#runs.set(key, controller);
    return {
      signal: controller.signal,
      release: () => {
        parent?.removeEventListener('abort', onParentAbort);
        if (!this.#runs.delete(key)) return;
        if (this.#runs.size === 0) for (const resolve of this.#idleWaiters) resolve();
      },
    };
  }

  /**
   * Stops new registrations, waits up to `graceMs` for running runs to end, then aborts whatever is
   * left and waits (briefly) for those to unwind. Resolves when no run is registered.
   */
  async drain(graceMs: number, unwindMs = 5_000): Promise<void> {
    this.#draining = true;
    if (await this.#waitIdle(graceMs)) return;
    // A typed reason: routes tell a run the server cut (503, `interrupted`) from one the client cancelled.
    for (const controller of this.#runs.values()) controller.abort(new ServerShutdownError());
    await this.#waitIdle(unwindMs);
  }

  #waitIdle(ms: number): Promise<boolean> {
    if (this.#runs.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#idleWaiters.delete(done);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#idleWaiters.delete(done);
        resolve(false);
      }, ms);
      this.#idleWaiters.add(done);
    });
  }
}
