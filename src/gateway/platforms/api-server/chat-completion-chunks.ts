/**
 * The Chat Completions wire shapes Herald sends: the non-streamed `chat.completion` body and the
 * streamed `chat.completion.chunk` frames (role, content, reasoning, finish, usage, tool progress), all
 * sharing one id and `created`. Reasoning goes in `reasoning_content` only: every chat frontend we
 * serve reads it (some also read `reasoning`, after it), so a second field would only add bytes. Pure
 * functions of their inputs; the route decides when to send what.
 */
import { randomUUID } from 'node:crypto';
import type { AgentEvent, AgentFinishReason } from '../../../agent/index.ts';
import type { ToolCall, Usage } from '../../../model/types.ts';

/** The agent events that show as tool progress in a chat stream. */
export type ToolCallEvent = Extract<AgentEvent, { type: 'tool-call-start' | 'tool-call-end' }>;

export interface CompletionIdentity {
  id: string;
  created: number;
  model: string;
}

export function newCompletionIdentity(model: string, now = Date.now()): CompletionIdentity {
  return { id: `chatcmpl-${randomUUID().replaceAll('-', '')}`, created: Math.floor(now / 1000), model };
}

export interface WireUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

export function wireUsage(usage: Usage): WireUsage {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
  };
}

/** Calls to the client's own tools, in the wire shape of `message.tool_calls`. */
function wireToolCalls(calls: ToolCall[]) {
  return calls.map((call) => ({
    id: call.id,
    type: 'function' as const,
    function: { name: call.name, arguments: call.arguments },
  }));
}

/**
 * `content` is null only for a turn that is nothing but client tool calls; `reasoning` becomes
 * `message.reasoning_content` when there is any.
 */
export function completionBody(
  identity: CompletionIdentity,
  content: string | null,
  finishReason: AgentFinishReason,
  usage: Usage,
  clientToolCalls: ToolCall[] = [],
  reasoning = '',
) {
  const thought = reasoning.trimEnd();
  const message = {
    role: 'assistant' as const,
    content,
    ...(thought ? { reasoning_content: thought } : {}),
    refusal: null,
    annotations: [],
  };
  return {
    id: identity.id,
    object: 'chat.completion' as const,
    created: identity.created,
    model: identity.model,
    choices: [
      {
        index: 0,
        message:
          clientToolCalls.length > 0 ? { ...message, tool_calls: wireToolCalls(clientToolCalls) } : message,
        logprobs: null,
        finish_reason: finishReason,
      },
    ],
    usage: wireUsage(usage),
    system_fingerprint: null,
  };
}

/** Stands in for the text while a text frame's constant parts are serialised (see `content`). */
const TEXT_SLOT = '\u0000herald-text-slot\u0000';

/** A serialised text frame around its text: `head + JSON.stringify(text) + tail`. */
interface FrameTemplate {
  head: string;
  tail: string;
}

/** Builds the frames of one streamed completion; `includeUsage` adds `usage: null` to every choice chunk. */
export class ChunkBuilder {
  readonly #identity: CompletionIdentity;
  readonly #includeUsage: boolean;
  /** The serialised content and reasoning frames around their text, built once per stream. */
  readonly #content: FrameTemplate;
  readonly #reasoning: FrameTemplate;

  constructor(identity: CompletionIdentity, includeUsage: boolean) {
    this.#identity = identity;
    this.#includeUsage = includeUsage;
    this.#content = this.#template('content');
    this.#reasoning = this.#template('reasoning_content');
  }

  #template(key: 'content' | 'reasoning_content'): FrameTemplate {
    const frame = this.#chunk([
      { index: 0, delta: { [key]: TEXT_SLOT }, logprobs: null, finish_reason: null },
    ]);
    const template = JSON.stringify(frame);
    // The last occurrence is the delta's: only `usage` follows `choices`, while the client-chosen
    // model name that comes earlier could contain anything.
    const at = template.lastIndexOf(JSON.stringify(TEXT_SLOT));
    return { head: template.slice(0, at), tail: template.slice(at + JSON.stringify(TEXT_SLOT).length) };
  }

  #chunk(choices: unknown[]) {
    return {
      id: this.#identity.id,
      object: 'chat.completion.chunk' as const,
      created: this.#identity.created,
      model: this.#identity.model,
      system_fingerprint: null,
      choices,
      ...(this.#includeUsage ? { usage: null } : {}),
    };
  }

  role() {
    return this.#chunk([
      { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
    ]);
  }

  /**
   * A content frame, already serialised: it is sent once per token, so only the text is encoded per
   * call. Same keys in the same order as every other chunk.
   */
  content(text: string): string {
    return this.#content.head + JSON.stringify(text) + this.#content.tail;
  }

  /**
   * A reasoning frame (`delta.reasoning_content`, no `content` key: LobeChat drops the content of a
   * delta that carries both), serialised like `content`.
   */
  reasoning(text: string): string {
    return this.#reasoning.head + JSON.stringify(text) + this.#reasoning.tail;
  }

  /**
   * The frames of calls to the client's tools, as OpenAI streams them: per call a head fragment with
   * index, id, type, name and empty arguments, then the arguments.
   */
  toolCalls(calls: ToolCall[]) {
    const delta = (fragment: Record<string, unknown>) =>
      this.#chunk([{ index: 0, delta: { tool_calls: [fragment] }, logprobs: null, finish_reason: null }]);
    return calls.flatMap((call, index) => {
      const head = delta({
        index,
        id: call.id,
        type: 'function',
        function: { name: call.name, arguments: '' },
      });
      return call.arguments === ''
        ? [head]
        : [head, delta({ index, function: { arguments: call.arguments } })];
    });
  }

  finish(reason: AgentFinishReason) {
    return this.#chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: reason }]);
  }

  usage(usage: Usage) {
    return { ...this.#chunk([]), usage: wireUsage(usage) };
  }

  /**
   * The `herald.tool.progress` frame of a tool call starting (`running`) or ending (`completed`). It is
   * also a valid (empty) chunk, because the official SDK yields named events' data as chunks and its
   * accumulator reads `choices`; aware frontends read the extra keys.
   */
  toolProgress(event: ToolCallEvent) {
    const server = event.origin?.server ?? 'herald';
    const progress =
      event.type === 'tool-call-start'
        ? {
            tool: event.name,
            server,
            label: event.label,
            toolCallId: event.toolCallId,
            status: 'running' as const,
          }
        : {
            tool: event.name,
            server,
            label: event.name,
            toolCallId: event.toolCallId,
            status: 'completed' as const,
            isError: event.isError,
          };
    return { ...this.#chunk([]), ...progress };
  }
}
