/**
 * Stores a running response's partial output every so often, so a process that dies mid-run (kill -9,
 * crash) leaves what had been produced: the next start marks the response `incomplete`/`interrupted`
 * with that output. It writes only when the output changed since the last write, one write at a time,
 * and `stop()` waits for the last one, so a checkpoint can never land after the final result. It does
 * not decide what is stored or when a run ends; the Responses route does.
 */

export interface OutputCheckpointsOptions {
  intervalMs: number;
  /** The Response as it stands (status `in_progress`, `output` so far). */
  snapshot: () => Record<string, unknown>;
  write: (body: Record<string, unknown>) => Promise<void>;
  /** A failed checkpoint is reported, not fatal: the run goes on and its final result is still stored. */
  onError: (error: unknown) => void;
}

export class OutputCheckpoints {
  readonly #options: OutputCheckpointsOptions;
  readonly #timer: NodeJS.Timeout;
  #written: string;
  #writing: Promise<void> = Promise.resolve();

  constructor(options: OutputCheckpointsOptions) {
    this.#options = options;
    this.#written = JSON.stringify(options.snapshot()['output']);
    this.#timer = setInterval(() => this.#checkpoint(), options.intervalMs);
  }

  /** Stops checkpointing; resolves once no checkpoint write is under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#writing;
  }

  #checkpoint(): void {
    const body = this.#options.snapshot();
    const output = JSON.stringify(body['output']);
    if (output === this.#written) return;
    this.#written = output;
    this.#writing = this.#writing.then(() => this.#options.write(body)).catch(this.#options.onError);
  }
}
