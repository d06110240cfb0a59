/**
 * The open approval prompts of a platform that answers them by numbered replies instead of buttons
 * (WhatsApp, Matrix, Mattermost, DingTalk): it sends a prompt through the platform's own send with the
 * choices under its text, remembers which request each prompt stands for (from before the send, so a
 * quick answer is not lost), and offers a reply that reads as a choice to the gateway —
 * for the prompt the reply quotes, else for each open prompt in its chat, oldest first, until the
 * gateway accepts one (the first the sender may answer). A reply the gateway accepted is consumed;
 * any other message (a number nobody may answer with included) is the platform's to deliver as usual.
 * It does not format or edit messages, nor decide who may answer.
 */
import { numberedChoices, type PromptKind, parseNumberedReply } from './numbered-reply.ts';
import type { ApprovalAnswer, ApprovalAnswerResult, SentMessage } from './types.ts';

interface OpenPrompt {
  requestId: string;
  chatId: string;
  kind: PromptKind;
  /** The prompt message, once sent. */
  messageId?: string;
}

/** A message that may answer a prompt. */
export interface PromptReply {
  chatId: string;
  userId: string;
  text: string;
  /** The message it quotes or replies to, when the platform says. */
  quotedId?: string | undefined;
}

/** Open prompts kept; unanswered pairing offers stay open until answered, so the table is bounded. */
const MAX_OPEN_PROMPTS = 200;

export class NumberedPrompts {
  /** Insertion-ordered: oldest first. One request may have several (a pairing offer to each admin). */
  readonly #prompts = new Set<OpenPrompt>();
  #handler: ((answer: ApprovalAnswer) => Promise<ApprovalAnswerResult>) | undefined;

  /** The gateway's answer handler (`ChatPlatform.onApprovalAnswer`). */
  onAnswer(handler: (answer: ApprovalAnswer) => Promise<ApprovalAnswerResult>): void {
    this.#handler = handler;
  }

  /**
   * Sends `text` with the numbered choices under it through `send`. The prompt is open from before the
   * send, so an answer that arrives before the platform confirmed the message is not lost.
   */
  async send(
    prompt: { requestId: string; chatId: string; kind: PromptKind },
    text: string,
    send: (body: string) => Promise<SentMessage>,
  ): Promise<SentMessage> {
    const open: OpenPrompt = { ...prompt };
    this.#prompts.add(open);
    if (this.#prompts.size > MAX_OPEN_PROMPTS) this.#prompts.delete(this.#prompts.values().next().value!);
    try {
      const sent = await send(`${text}\n\n${numberedChoices(prompt.kind)}`);
      open.messageId = sent.id;
      return sent;
    } catch (error) {
      this.#prompts.delete(open);
      throw error;
    }
  }

  /** Forgets a settled prompt; returns the chat it was sent in. */
  close(messageId: string): string | undefined {
    for (const prompt of this.#prompts) {
      if (prompt.messageId !== messageId) continue;
      this.#prompts.delete(prompt);
      return prompt.chatId;
    }
    return undefined;
  }

  /**
   * The answers `reply` could be, in the order to offer them: to the prompt it quotes, else to each
   * open prompt in its chat, oldest first. Empty (decided synchronously, so ordinary messages keep
   * their order) when it is no answer at all.
   */
  #answersIn(reply: PromptReply): ApprovalAnswer[] {
    if (this.#prompts.size === 0) return [];
    const quoted = reply.quotedId
      ? [...this.#prompts.values()].find((prompt) => prompt.messageId === reply.quotedId)
      : undefined;
    const candidates = quoted ? [quoted] : [...this.#prompts.values()];
    return candidates.flatMap((prompt) => {
      if (prompt.chatId !== reply.chatId) return [];
      const decision = parseNumberedReply(reply.text, prompt.kind);
      return decision ? [{ requestId: prompt.requestId, decision, userId: reply.userId }] : [];
    });
  }

  /**
   * Delivers `reply` as an ordinary message unless it is an answer the gateway accepts — at once when
   * it cannot be one, so ordinary messages keep their order. A number nobody may answer with (someone
   * else's prompt) is delivered after all.
   */
  route(reply: PromptReply, deliver: () => void, onError: (error: unknown) => void): void {
    const answers = this.#answersIn(reply);
    if (answers.length === 0) {
      deliver();
      return;
    }
    void this.#offer(answers)
      .then((accepted) => accepted || deliver())
      .catch(onError);
  }

  /** Offers the answers in turn until the gateway accepts one; false when it accepted none. */
  async #offer(answers: readonly ApprovalAnswer[]): Promise<boolean> {
    for (const answer of answers) {
      if ((await this.#handler?.(answer))?.accepted) return true;
    }
    return false;
  }
}
