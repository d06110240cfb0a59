/**
 * What Herald knows about the upstream model's health from its own traffic: the last call's outcome and
 * latency, the last error code, the last time the upstream answered. Feeds `/status` and, with
 * `api_server.ready_requires_upstream`, `/health/ready`. It never calls the upstream itself: a probe
 * per health check would spend the operator's quota.
 */

/** Failures that are the request's fault: the upstream answered, so it counts as up. */
const ANSWERED_CODES = new Set(['upstream_bad_request', 'context_too_long']);

export interface UpstreamHealthReport {
  /** `unknown` until the first call; `failing` while the last call failed for the upstream's reasons. */
  state: 'unknown' | 'ok' | 'failing';
  last_call_at: string | null;
  latency_ms: number | null;
  last_error_code: string | null;
  last_error_at: string | null;
}

export class UpstreamHealth {
  #lastCallAt: number | undefined;
  #latencyMs: number | undefined;
  #failing = false;
  #lastError: { code: string; at: number } | undefined;

  /** One finished (or failed) upstream call; `latencyMs` to its first delta or its failure. */
  record(at: number, latencyMs: number, errorCode?: string): void {
    this.#lastCallAt = at;
    this.#latencyMs = latencyMs;
    this.#failing = errorCode !== undefined && !ANSWERED_CODES.has(errorCode);
    if (errorCode) this.#lastError = { code: errorCode, at };
  }

  /**
   * True while the last call failed for the upstream's reasons and did so within `windowMs`. The window
   * matters: a replica taken out of rotation gets no traffic to prove the upstream back, so after it
   * the replica is offered traffic again.
   */
  failingSince(now: number, windowMs: number): boolean {
    return this.#failing && this.#lastCallAt !== undefined && now - this.#lastCallAt < windowMs;
  }

  report(): UpstreamHealthReport {
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    return {
      state: this.#lastCallAt === undefined ? 'unknown' : this.#failing ? 'failing' : 'ok',
      last_call_at: iso(this.#lastCallAt),
      latency_ms: this.#latencyMs === undefined ? null : Math.round(this.#latencyMs),
      last_error_code: this.#lastError?.code ?? null,
      last_error_at: iso(this.#lastError?.at),
    };
  }
}
