/**
 * Approval prompts on chat platforms: sends a prompt with answer buttons through a platform that has
 * them (`sendApprovalPrompt`), accepts a press only from whoever may answer, edits the prompt to show
 * the outcome, and keeps each conversation's `session` answers until `/new`. Two kinds of prompt: a
 * tool call the agent wants to run (answered by the person who started the run or one of the
 * platform's `admins`), and a stranger's pairing code offered to the admins (`dm_policy: pairing`).
 * Platforms without buttons get no asker, so the policy refuses such calls there with a tool result
 * that says why. It does not decide what needs approval (the agent's policy does) nor how buttons
 * look (the platform does).
 */
import {
  type ApprovalAsker,
  type ApprovalDecision,
  type ApprovalRequest,
  ApprovalTimeoutError,
} from '../agent/index.ts';
import type { Logger } from '../logger.ts';
import type { PairingRequest } from '../store/index.ts';
import type {
  ApprovalAnswer,
  ApprovalAnswerResult,
  ChatPlatform,
  ReplyTarget,
  SentMessage,
} from './types.ts';

interface Prompt {
  target: ReplyTarget;
  message: SentMessage;
}

interface Pending {
  platform: ChatPlatform;
  /** Where the prompt was sent (several admins may each have one). */
  prompts: Prompt[];
  text: string;
  /** Who may answer besides the platform's admins; undefined = admins only. */
  ownerId: string | undefined;
  /** Acts on the answer and returns the outcome line shown under the prompt. */
  decide: (decision: ApprovalDecision) => Promise<string>;
  /** The outcome, once settled (a prompt whose send was still under way is settled when it lands). */
  outcome?: string;
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
      const answered = Promise.withResolvers<ApprovalDecision>();
      const pending: Pending = {
        platform,
        prompts: [],
        text,
        ownerId,
        decide: async (decision) => {
          answered.resolve(decision);
          return decisionText[decision];
        },
      };
      // Waiting before the prompt is sent: an answer quicker than the platform's confirmation counts.
      this.#pending.set(request.id, pending);
      let prompt: Prompt;
      try {
        prompt = { target, message: await send(target, text, request.id, 'tool') };
      } catch (error) {
        this.#pending.delete(request.id);
        throw error;
      }
      pending.prompts.push(prompt);
      if (pending.outcome !== undefined)
        await this.#settle({ ...pending, prompts: [prompt] }, pending.outcome);
      const onAbort = () => {
        if (this.#pending.get(request.id) !== pending) return;
        this.#pending.delete(request.id);
        const outcome =
          signal.reason instanceof ApprovalTimeoutError ? '⏱ No answer in time: denied' : '⏹ Cancelled';
        void this.#settle(pending, outcome);
        answered.reject(signal.reason);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      return answered.promise;
    };
  }

  /**
   * Offers a stranger's pairing code to each admin in a DM (their user id addresses it on the
   * platforms that have buttons); `decide` lets them in or refuses them.
   */
  async offerPairing(
    platform: ChatPlatform,
    admins: readonly string[],
    request: PairingRequest,
    decide: (approve: boolean) => Promise<PairingRequest | undefined>,
  ): Promise<void> {
    const send = platform.sendApprovalPrompt?.bind(platform);
    if (!send || admins.length === 0) return;
    const who = request.userName ? `${request.userId} (@${request.userName})` : request.userId;
    const text = `🔑 ${platform.name} user ${who} asks to talk to me (pairing code ${request.code}).`;
    const id = `pair_${request.code}`;
    const pending: Pending = {
      platform,
      prompts: [],
      text,
      ownerId: undefined,
      decide: async (decision) => {
        const done = await decide(decision !== 'deny');
        if (!done) return '⏱ The code has expired or was already answered';
        return decision === 'deny' ? '⛔ Refused' : '✅ Let in';
      },
    };
    // Waiting before the offers are sent, as for tool prompts.
    this.#pending.set(id, pending);
    for (const admin of admins) {
      const target: ReplyTarget = { chatId: admin, userId: admin, inboundMessageId: '', isPrivate: true };
      try {
        const prompt = { target, message: await send(target, text, id, 'pairing') };
        pending.prompts.push(prompt);
        if (pending.outcome !== undefined)
          await this.#settle({ ...pending, prompts: [prompt] }, pending.outcome);
      } catch (error) {
        this.#logger.warn({ event: 'gateway_pairing_offer_failed', platform: platform.name, err: error });
      }
    }
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
    const outcome = await pending.decide(answer.decision);
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
    await this.#settle(pending, outcome);
    return { accepted: true, notice: outcome };
  }

  /** Shows the outcome under every copy of the prompt, without its buttons. */
  async #settle(pending: Pending, outcome: string): Promise<void> {
    pending.outcome = outcome;
    const { platform } = pending;
    const settled = `${pending.text}\n\n${outcome}`;
    for (const { target, message } of pending.prompts) {
      try {
        if (platform.closeApprovalPrompt) await platform.closeApprovalPrompt(target, message, settled);
        else await platform.edit(target, message, settled);
      } catch (error) {
        this.#logger.debug(
          { event: 'gateway_approval_edit_failed', err: error },
          'approval prompt not edited',
        );
      }
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
