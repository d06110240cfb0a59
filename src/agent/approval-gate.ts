/**
 * Stands between a tool call and its execution: asks the approval policy, and for calls that need a
 * person, checks the conversation's `session` answers and the persisted `always` answers, then asks
 * through the door's asker (emitting `approval-requested` / `approval-resolved`), with the configured
 * timeout counting as a deny and the run's abort cancelling the request. A refused call becomes a tool
 * result that tells the model why, so it can explain or choose another way. Every decision is logged.
 * It does not render prompts (doors do) or store answers itself (an `ApprovalRuleStore` does).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.ts';
import type { ToolCall } from '../model/index.ts';
import type { ApprovalPolicy } from './approval-policy.ts';
import type {
  AgentEvent,
  ApprovalAsker,
  ApprovalDecision,
  ApprovalRequest,
  ApprovalResolver,
} from './types.ts';

/** Where `always` answers are kept (herald.db in production); patterns as in `ApprovalRequest.pattern`. */
export interface ApprovalRuleStore {
  has(pattern: string): Promise<boolean>;
  add(pattern: string): Promise<void>;
}

/** An in-memory rule store: tests, and doors without a database. */
export function memoryApprovalRules(): ApprovalRuleStore {
  const patterns = new Set<string>();
  return {
    has: async (pattern) => patterns.has(pattern),
    add: async (pattern) => {
      patterns.add(pattern);
    },
  };
}

/** The abort reason an asker's signal carries when nobody answered in time. */
export class ApprovalTimeoutError extends Error {
  readonly code = 'approval_timed_out';
  constructor() {
    super('The approval request timed out.');
    this.name = 'ApprovalTimeoutError';
  }
}

export type GateOutcome = { run: true } | { run: false; output: string };
export type ApprovalGate = (call: ToolCall) => Promise<GateOutcome>;

export interface ApprovalGateOptions {
  policy: ApprovalPolicy;
  rules: ApprovalRuleStore;
  approve: ApprovalAsker | undefined;
  session: Set<string> | undefined;
  timeoutMs: number;
  toolset: string;
  cwd: string;
  signal: AbortSignal;
  emit: (event: AgentEvent) => void;
  logger: Logger | undefined;
}

export function createApprovalGate(options: ApprovalGateOptions): ApprovalGate {
  const { policy, rules, session, logger } = options;
  const log = (call: ToolCall, fields: Record<string, unknown>) =>
    logger?.info(
      { event: 'agent.approval', tool: call.name, toolCallId: call.id, ...fields },
      'approval decision',
    );

  return async (call) => {
    const verdict = policy.check(call.name, call.arguments, options.toolset, options.cwd);
    if (verdict.action === 'allow') return { run: true };
    if (verdict.action === 'deny') {
      log(call, { decision: 'deny', by: 'policy' });
      return refuse(`the approval policy refuses it: ${verdict.reason}`);
    }
    // An unreadable rule store means no remembered answer: the person is asked again.
    const remembered = await rules.has(verdict.pattern).catch((err: unknown) => {
      logger?.warn({ event: 'agent.approval_rules_failed', err }, 'approval rules could not be read');
      return false;
    });
    if (session?.has(verdict.pattern) || remembered) {
      log(call, { decision: 'allow', by: 'rule', pattern: verdict.pattern });
      return { run: true };
    }
    if (!options.approve) {
      log(call, { decision: 'deny', by: 'no-asker', pattern: verdict.pattern });
      return refuse(
        `it needs a person's approval (${verdict.reason}), and nobody can approve tool calls through this ` +
          'connection. Tell the user what you wanted to run and why, so they can run it themselves or ' +
          'use a client that can approve (the runs API, Telegram, Slack, Discord, WhatsApp, herald chat).',
      );
    }
    const request: ApprovalRequest = {
      id: `apr_${randomBytes(9).toString('base64url')}`,
      toolCallId: call.id,
      tool: call.name,
      arguments: call.arguments,
      reason: verdict.reason,
      pattern: verdict.pattern,
    };
    options.emit({ type: 'approval-requested', request });
    // Emitted the moment the answer is known, so on abort it precedes the run's cancellation events.
    const { decision, by } = await ask(
      options.approve,
      request,
      options.signal,
      options.timeoutMs,
      (answer) =>
        options.emit({ type: 'approval-resolved', requestId: request.id, toolCallId: call.id, ...answer }),
    );
    log(call, { decision, by, requestId: request.id, pattern: request.pattern });
    if (decision === 'session') session?.add(request.pattern);
    if (decision === 'always') {
      await rules.add(request.pattern).catch((err: unknown) => {
        logger?.warn({ event: 'agent.approval_rules_failed', err }, 'an always answer could not be kept');
      });
    }
    if (decision !== 'deny') return { run: true };
    if (by === 'timeout') {
      return refuse(
        `nobody approved it within ${Math.round(options.timeoutMs / 1000)} s (${verdict.reason}).`,
      );
    }
    if (by === 'cancelled') return refuse('the run was stopped while it waited for approval.');
    return refuse(
      `the user denied it (${verdict.reason}). Do not try it again in another form; ask the user how to go on.`,
    );
  };
}

function refuse(why: string): GateOutcome {
  return { run: false, output: `Error: this tool call was not run: ${why}` };
}

/**
 * The asker's answer, a deny at the timeout, or a deny when the run aborts; never rejects. `settled`
 * hears the answer synchronously, before anything else reacts to an abort.
 */
async function ask(
  approve: ApprovalAsker,
  request: ApprovalRequest,
  signal: AbortSignal,
  timeoutMs: number,
  settled: (answer: Answer) => void,
): Promise<Answer> {
  const expired = new AbortController();
  const onAbort = () => expired.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => expired.abort(new ApprovalTimeoutError()), timeoutMs);
  try {
    return await new Promise<Answer>((resolve) => {
      let done = false;
      const settle = (answer: Answer) => {
        if (done) return;
        done = true;
        settled(answer);
        resolve(answer);
      };
      const ended = () => settle({ decision: 'deny', by: signal.aborted ? 'cancelled' : 'timeout' });
      if (signal.aborted) return ended();
      expired.signal.addEventListener('abort', ended, { once: true });
      approve(request, expired.signal).then(
        (decision) => settle({ decision, by: 'user' }),
        () => (expired.signal.aborted ? ended() : settle({ decision: 'deny', by: 'user' })),
      );
    });
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

type Answer = { decision: ApprovalDecision; by: ApprovalResolver };
