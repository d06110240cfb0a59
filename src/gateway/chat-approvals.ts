/**
 * Approval requests on chat platforms: sends the prompt with answer buttons through a platform that
 * has them (`sendApprovalPrompt`), accepts a press only from the person who started the run or one of
 * the platform's `admins`, edits the prompt to show the decision (or the timeout / cancellation), and
 * keeps each conversation's `session` answers until `/new`. Platforms without buttons get no asker, so
 * the policy refuses such calls there with a tool result that says why. It does not decide what needs
 * approval (the agent's policy does) nor how buttons look (the platform does).
 */
import {
  type ApprovalAsker,
  type ApprovalDecision,
  type ApprovalRequest,
  ApprovalTimeoutError,
} from '../agent/index.ts';
import type { Logger } from '../logger.ts';
import type {
  ApprovalAnswer,
  ApprovalAnswerResult,
  ChatPlatform,
  ReplyTarget,
  SentMessage,
} from './types.ts';

interface Pending {
  platform: ChatPlatform;
  target: ReplyTarget;
  ownerId: string;
  prompt: SentMessage;
  text: string;
  resolve: (decision: ApprovalDecision) => void;
}

const decisionText: Record<ApprovalDecision, string> = {
  once: '✅ Approved once',
  session: '✅ Approved for this conversation',
  always: '✅ Approved always',
  deny: '⛔ Denied',
};

export class ChatApprovals {
  readonly #pending = new Map<string, Pending>();
  readonly #sessions = new Map<string, Set<string>>();
  readonly #isAdmin: (platform: string, userId: string) => boolean;
  readonly #logger: Logger;

  constructor(options: { isAdmin: (platform: string, userId: string) => boolean; logger: Logger }) {
    this.#isAdmin = options.isAdmin;
    this.#logger = options.logger;
  }

  /** Listens for button presses on the platform's prompts. */
  attach(platform: ChatPlatform): void {
    platform.onApprovalAnswer?.((answer) => this.#answer(platform, answer));
  }

  /** The asker for a run started by `ownerId`; undefined when the platform has no buttons. */
  askerFor(platform: ChatPlatform, target: ReplyTarget, ownerId: string): ApprovalAsker | undefined {
    const send = platform.sendApprovalPrompt?.bind(platform);
    if (!send) return undefined;
    return async (request, signal) => {
      const text = promptText(request);
      const prompt = await send(target, text, request.id);
      return new Promise<ApprovalDecision>((resolve, reject) => {
        this.#pending.set(request.id, { platform, target, ownerId, prompt, text, resolve });
        signal.addEventListener(
          'abort',
          () => {
            if (!this.#pending.delete(request.id)) return;
            const outcome =
              signal.reason instanceof ApprovalTimeoutError ? '⏱ No answer in time: denied' : '⏹ Cancelled';
            void this.#settlePrompt(platform, target, prompt, text, outcome);
            reject(signal.reason);
          },
          { once: true },
        );
      });
    };
  }

  /** The conversation's `session` answers. */
  sessionFor(key: string): Set<string> {
    let session = this.#sessions.get(key);
    if (!session) {
      session = new Set();
      this.#sessions.set(key, session);
    }
    return session;
  }

  /** `/new`: a fresh conversation starts without the old one's session answers. */
  forget(key: string): void {
    this.#sessions.delete(key);
  }

  async #answer(platform: ChatPlatform, answer: ApprovalAnswer): Promise<ApprovalAnswerResult> {
    const pending = this.#pending.get(answer.requestId);
    if (!pending || pending.platform !== platform) {
      return { accepted: false, notice: 'This request is no longer waiting for an answer.' };
    }
    if (answer.userId !== pending.ownerId && !this.#isAdmin(platform.name, answer.userId)) {
      this.#logger.info(
        {
          event: 'gateway_approval_refused',
          platform: platform.name,
          userId: answer.userId,
          requestId: answer.requestId,
        },
        'approval answer from someone else ignored',
      );
      return { accepted: false, notice: 'Only the person who asked (or an admin) can answer this.' };
    }
    this.#pending.delete(answer.requestId);
    pending.resolve(answer.decision);
    this.#logger.info(
      {
        event: 'gateway_approval_answered',
        platform: platform.name,
        userId: answer.userId,
        requestId: answer.requestId,
        decision: answer.decision,
      },
      'approval answered',
    );
    await this.#settlePrompt(
      platform,
      pending.target,
      pending.prompt,
      pending.text,
      decisionText[answer.decision],
    );
    return { accepted: true, notice: decisionText[answer.decision] };
  }

  /** Shows the outcome under the prompt; an edit also removes its buttons. */
  async #settlePrompt(
    platform: ChatPlatform,
    target: ReplyTarget,
    prompt: SentMessage,
    text: string,
    outcome: string,
  ): Promise<void> {
    try {
      const settled = `${text}\n\n${outcome}`;
      if (platform.closeApprovalPrompt) await platform.closeApprovalPrompt(target, prompt, settled);
      else await platform.edit(target, prompt, settled);
    } catch (error) {
      this.#logger.debug({ event: 'gateway_approval_edit_failed', err: error }, 'approval prompt not edited');
    }
  }
}

function promptText(request: ApprovalRequest): string {
  let what = request.arguments;
  try {
    const parsed = JSON.parse(request.arguments) as Record<string, unknown>;
    what = typeof parsed['command'] === 'string' ? parsed['command'] : JSON.stringify(parsed, null, 1);
  } catch {
    // Shown as sent.
  }
  if (what.length > 1500) what = `${what.slice(0, 1499)}…`;
  return `⚠ Approval needed: ${request.tool}\n${what}\n\nWhy: ${request.reason}`;
}
