/**
 * One run of the runs API while it is in this process: turns the agent's events into the run's typed
 * events (`run.started`, `message.delta`, `tool.started`, `tool.completed`, `approval.requested`,
 * `approval.resolved`, and the ending `run.completed|failed|cancelled|interrupted`), writes each to
 * the run store in order before handing it to live subscribers, keeps the status current, holds the
 * approval requests waiting for an answer and the guidance waiting for the next model call, and owns
 * the signal that stops the run. It knows nothing of HTTP; runs-routes.ts serves it.
 */
import type { AgentEvent, ApprovalAsker, ApprovalDecision, ApprovalRequest } from '../../../agent/index.ts';
import type { Logger } from '../../../logger.ts';
import { RunAbortedError, type Usage } from '../../../model/index.ts';
import type { RunEvent, RunStatus, RunStore, StoredRun } from '../../../store/index.ts';

type RunWrites = Pick<RunStore, 'appendEvent' | 'update'>;

/** The run's end as the Responses pipeline reported it. */
export interface RunEnd {
  status: Extract<RunStatus, 'completed' | 'failed' | 'cancelled' | 'interrupted'>;
  usage: Usage | null;
  error: { code: string; message: string } | null;
}

interface PendingApproval {
  request: ApprovalRequest;
  resolve: (decision: ApprovalDecision) => void;
}

export class LiveRun {
  readonly id: string;
  readonly owner: string;
  /** Aborted by `stop()`: the run's transport signal, so a queued run stops waiting too. */
  readonly #stop = new AbortController();
  readonly #store: RunWrites;
  readonly #logger: Logger;
  readonly #subscribers = new Set<(event: RunEvent) => void>();
  readonly #pending = new Map<string, PendingApproval>();
  readonly #guidance: string[] = [];
  /** Events are written one after another, so sequence numbers follow the run's order. */
  #tail: Promise<unknown> = Promise.resolve();
  #text = '';
  #status: RunStatus = 'queued';
  /** The session answers of this run's conversation (shared by the runs that continue it). */
  readonly approvalSession: Set<string>;

  constructor(
    run: Pick<StoredRun, 'id' | 'owner'>,
    options: { store: RunWrites; approvalSession: Set<string>; logger: Logger },
  ) {
    this.id = run.id;
    this.owner = run.owner;
    this.#store = options.store;
    this.#logger = options.logger;
    this.approvalSession = options.approvalSession;
  }

  get status(): RunStatus {
    return this.#status;
  }

  get stopSignal(): AbortSignal {
    return this.#stop.signal;
  }

  /** Approval requests still waiting for an answer, oldest first. */
  get pendingApprovals(): ApprovalRequest[] {
    return [...this.#pending.values()].map((pending) => pending.request);
  }

  /** Receives every event recorded from now on; returns the unsubscribe function. */
  subscribe(listener: (event: RunEvent) => void): () => void {
    this.#subscribers.add(listener);
    return () => this.#subscribers.delete(listener);
  }

  stop(): void {
    this.#stop.abort(new RunAbortedError('The run was stopped.'));
  }

  steer(text: string): void {
    this.#guidance.push(text);
  }

  /** Settles a waiting request; false when there is no such request (answered, timed out, never was). */
  answer(requestId: string, decision: ApprovalDecision): boolean {
    const pending = this.#pending.get(requestId);
    if (!pending) return false;
    this.#pending.delete(requestId);
    pending.resolve(decision);
    return true;
  }

  readonly approve: ApprovalAsker = (request, signal) =>
    new Promise((resolve, reject) => {
      this.#pending.set(request.id, { request, resolve });
      signal.addEventListener(
        'abort',
        () => {
          this.#pending.delete(request.id);
          reject(signal.reason);
        },
        { once: true },
      );
    });

  readonly steering = (): string[] =>
    this.#guidance.splice(0).map((text) => `[Guidance from the user while you work]\n${text}`);

  started(): void {
    this.#setStatus('running');
    this.#record('run.started', { run_id: this.id, status: 'running' });
  }

  /** Maps one agent event to the run's events. */
  observe(event: AgentEvent): void {
    switch (event.type) {
      case 'text-delta':
        this.#text += event.text;
        if (event.text) this.#record('message.delta', { delta: event.text });
        return;
      case 'tool-call-start':
        this.#record('tool.started', {
          tool_call_id: event.toolCallId,
          name: event.name,
          arguments: event.arguments,
          label: event.label,
        });
        return;
      case 'tool-call-end':
        this.#record('tool.completed', {
          tool_call_id: event.toolCallId,
          name: event.name,
          output: event.result,
          is_error: event.isError,
        });
        return;
      case 'approval-requested': {
        const { request } = event;
        this.#setStatus('waiting_for_approval');
        this.#record('approval.requested', {
          request_id: request.id,
          tool_call_id: request.toolCallId,
          tool: request.tool,
          arguments: request.arguments,
          reason: request.reason,
          pattern: request.pattern,
        });
        return;
      }
      case 'approval-resolved':
        // The gate emits `requested` before it asks, so a request answered at once is still pending here.
        this.#pending.delete(event.requestId);
        if (this.#pending.size === 0) this.#setStatus('running');
        this.#record('approval.resolved', {
          request_id: event.requestId,
          tool_call_id: event.toolCallId,
          decision: event.decision,
          by: event.by,
        });
        return;
      case 'usage':
      case 'done':
      case 'error':
      // The runs API's event list has no reasoning event; the upstream's reasoning is not part of a run's output.
      case 'reasoning-delta':
        return;
      default:
        throw new Error(`Unknown agent event: ${JSON.stringify(event satisfies never)}`);
    }
  }

  /** Records the ending event and the final state; resolves once both are stored. */
  async end(end: RunEnd): Promise<void> {
    this.#status = end.status;
    const outputText = this.#text;
    this.#record(`run.${end.status}`, {
      run_id: this.id,
      status: end.status,
      usage: end.usage,
      output_text: outputText,
      error: end.error,
    });
    await this.#tail;
    await this.#store.update(this.id, { status: end.status, usage: end.usage, outputText, error: end.error });
  }

  #setStatus(status: RunStatus): void {
    if (this.#status === status) return;
    this.#status = status;
    this.#then(() => this.#store.update(this.id, { status }));
  }

  #record(type: string, data: Record<string, unknown>): void {
    this.#then(async () => {
      const event = await this.#store.appendEvent(this.id, type, data);
      for (const listener of [...this.#subscribers]) listener(event);
    });
  }

  /** Queues a store write behind the earlier ones; a failed write is logged and the queue goes on. */
  #then(write: () => Promise<void>): void {
    this.#tail = this.#tail.then(write).catch((err: unknown) => {
      this.#logger.error({ event: 'runs.store_failed', runId: this.id, err }, 'run event not stored');
    });
  }
}
