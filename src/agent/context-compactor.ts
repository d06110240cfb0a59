/**
 * `ContextCompactor` keeps a conversation inside the model's context window. Before a model call it
 * sizes the conversation (the upstream's own prompt-token count of the last call when there is one,
 * else the tokenizer estimate) and, past a threshold (80% of the window minus the output reserve),
 * asks the model for a summary of the older turns and returns the conversation as leading system
 * messages + one summary message + the recent turns verbatim. It never separates an assistant message
 * from the results of its tool calls, and keeps every tool call whose results are not all present.
 * It does not store anything: callers persist what `foldCompaction` reports, so a summary is computed
 * once and loaded afterwards (`compactedConversation`).
 */
import {
  addUsage,
  type ChatMessage,
  estimateMessageTokens,
  type ModelClient,
  ModelError,
  type ModelRequest,
  type Usage,
  zeroUsage,
} from '../model/index.ts';

/** The window assumed when neither config (`model.context_window`) nor the upstream says. */
export const DEFAULT_CONTEXT_WINDOW = 128_000;

/** Compaction starts when the prompt exceeds this share of the window left after the output reserve. */
const THRESHOLD_SHARE = 0.8;
/** Recent turns kept verbatim take at most this share of the threshold. */
const KEEP_SHARE = 0.4;
/** One summarisation call reads at most this share of the threshold of conversation. */
const CHUNK_SHARE = 0.6;
/** The summary itself is capped at this share of the threshold, and at SUMMARY_MAX_TOKENS. */
const SUMMARY_SHARE = 0.15;
const SUMMARY_MAX_TOKENS = 4_096;
/** Output reserve when the request sets no max tokens: a quarter of the window, at most this. */
const DEFAULT_OUTPUT_RESERVE = 8_192;

const SUMMARY_PREFIX = 'Summary of the earlier conversation:\n\n';

const SUMMARY_PROMPT = [
  'You compact a conversation between a user and an AI assistant so that the assistant can continue it',
  'with less context. Write a summary of the conversation you are given that lets the assistant carry on',
  'seamlessly: what the user wants and asked for, decisions and conclusions, facts learned (from tool',
  'results too: file names, commands, values, errors), what has been done, and what is still open or was',
  'promised. If a previous summary is given, fold it in. Be concise and concrete; write in the language of',
  'the conversation. Output only the summary, with no preamble.',
].join(' ');

export interface ContextCompactorOptions {
  model: ModelClient;
  /** `model.context_window`; unset = what the upstream reports, else DEFAULT_CONTEXT_WINDOW. */
  contextWindow?: number;
  /** Prompt tokens per message; default: the tokenizer estimate (tests pass a cheap one). */
  countTokens?: (messages: readonly ChatMessage[]) => Promise<number[]>;
}

export interface CompactOptions {
  signal: AbortSignal;
  /** Compact whatever the size, keeping at most the last turn (`POST /v1/responses/compact`). */
  force?: boolean;
  /** The upstream's prompt-token count for the first `messages` messages of this list (the last call). */
  observed?: { messages: number; promptTokens: number };
}

/** One compaction: the new message list, the summary, and how many messages it replaced. */
export interface Compaction {
  messages: ChatMessage[];
  summary: string;
  /** Messages replaced by the summary, counted from the first message after the leading system messages. */
  summarised: number;
  /** The summarisation calls' usage. */
  usage: Usage;
}

/**
 * What a run reports when it compacted: the latest summary and how many leading messages of the
 * conversation (the run's input messages followed by the messages it appended) it stands for.
 */
export interface ContextCompaction {
  summary: string;
  replaces: number;
}

/** Sizes of a compaction, all in tokens. */
interface Budget {
  threshold: number;
  keep: number;
  chunk: number;
  summaryMax: number;
}

export class ContextCompactor {
  readonly #model: ModelClient;
  readonly #contextWindow: number | undefined;
  readonly #countTokens: (messages: readonly ChatMessage[]) => Promise<number[]>;

  constructor(options: ContextCompactorOptions) {
    this.#model = options.model;
    this.#contextWindow = options.contextWindow;
    this.#countTokens = options.countTokens ?? estimateMessageTokens;
  }

  /**
   * The compacted conversation when `messages` (as sent with `request`) is too large for the window, or
   * with `force`; undefined when nothing needs or can be summarised.
   */
  async compact(
    messages: readonly ChatMessage[],
    request: Omit<ModelRequest, 'messages'>,
    options: CompactOptions,
  ): Promise<Compaction | undefined> {
    const budget = await this.#budget(request);
    let counts: number[] | undefined;
    if (!options.force) {
      const size = await this.#size(messages, request, options.observed, budget.threshold);
      if (size.tokens <= budget.threshold) return undefined;
      counts = size.counts;
    }
    const lead = leadingSystemMessages(messages);
    counts ??= await this.#countTokens(messages);
    const split = chooseSplit(messages, counts, lead, budget.keep, options.force === true);
    if (split === undefined) return undefined;
    const older = messages.slice(lead, split);
    // Summarising nothing but the previous summary would only reword it.
    if (older.length === 1 && summaryOf(older[0]!) !== undefined) return undefined;

    const { summary, usage } = await this.#summarise(
      older,
      counts.slice(lead, split),
      request.model,
      budget,
      options.signal,
    );
    if (!summary) return undefined;
    return {
      messages: [...messages.slice(0, lead), summaryMessage(summary), ...messages.slice(split)],
      summary,
      summarised: split - lead,
      usage,
    };
  }

  /**
   * The prompt's size in tokens: the upstream's count of the last call plus an estimate of what was
   * added since, else an estimate of everything. Well below the threshold (the common case on every
   * model call) a byte count answers without the tokenizer.
   */
  async #size(
    messages: readonly ChatMessage[],
    request: Omit<ModelRequest, 'messages'>,
    observed: CompactOptions['observed'],
    threshold: number,
  ): Promise<{ tokens: number; counts?: number[] }> {
    const known = observed && observed.messages <= messages.length ? observed : undefined;
    const rest = messages.slice(known?.messages ?? 0);
    const tools = request.tools?.length ? JSON.stringify(request.tools) : '';
    const base = known ? known.promptTokens : Buffer.byteLength(tools);
    const bound = rest.reduce((total, m) => total + 4 + Buffer.byteLength(JSON.stringify(m)), base);
    // No BPE token is shorter than one byte, so the byte count is an upper bound of the token count.
    if (bound <= threshold) return { tokens: bound };
    if (known) return { tokens: known.promptTokens + sum(await this.#countTokens(rest)) };
    // Everything was counted: the per-message counts serve the split too.
    const counts = await this.#countTokens([
      ...messages,
      ...(tools ? [{ role: 'system', content: tools } as const] : []),
    ]);
    return { tokens: sum(counts), counts: counts.slice(0, messages.length) };
  }

  async #budget(request: Omit<ModelRequest, 'messages'>): Promise<Budget> {
    const window =
      this.#contextWindow ?? (await this.#model.contextWindow?.(request.model)) ?? DEFAULT_CONTEXT_WINDOW;
    const reserve = Math.min(
      request.maxTokens ?? Math.min(DEFAULT_OUTPUT_RESERVE, Math.floor(window / 4)),
      Math.floor(window / 2),
    );
    const threshold = Math.floor(THRESHOLD_SHARE * (window - reserve));
    return {
      threshold,
      keep: Math.floor(KEEP_SHARE * threshold),
      chunk: Math.floor(CHUNK_SHARE * threshold),
      summaryMax: Math.max(1, Math.min(SUMMARY_MAX_TOKENS, Math.floor(SUMMARY_SHARE * threshold))),
    };
  }

  /**
   * Summarises `older` in calls of at most `budget.chunk` tokens each, every call folding the previous
   * call's summary in, so a history larger than the window itself can still be compacted.
   */
  async #summarise(
    older: ChatMessage[],
    counts: number[],
    model: string,
    budget: Budget,
    signal: AbortSignal,
  ): Promise<{ summary: string; usage: Usage }> {
    let summary = '';
    let usage = zeroUsage();
    for (const chunk of chunks(older, counts, budget.chunk)) {
      const transcript = chunk.map(({ message, count }) => render(message, count, budget.chunk)).join('\n\n');
      const content = summary
        ? `Previous summary:\n${summary}\n\nConversation since then:\n${transcript}`
        : `Conversation:\n${transcript}`;
      const result = await this.#complete(
        {
          model,
          messages: [
            { role: 'system', content: SUMMARY_PROMPT },
            { role: 'user', content },
          ],
          maxTokens: budget.summaryMax,
        },
        signal,
      );
      usage = addUsage(usage, result.usage);
      summary = result.text.trim() || summary;
    }
    return { summary, usage };
  }

  /** One model call without tools, its text collected. */
  async #complete(request: ModelRequest, signal: AbortSignal): Promise<{ text: string; usage: Usage }> {
    let text = '';
    for await (const delta of this.#model.stream(request, signal)) {
      if (delta.type === 'text') text += delta.text;
      else if (delta.type === 'finish') return { text, usage: delta.usage };
    }
    throw new ModelError('upstream_stream_cut', 'The model stream ended before the summary was finished.');
  }
}

/** The message that stands for the summarised turns. */
export function summaryMessage(summary: string): ChatMessage {
  return { role: 'user', content: `${SUMMARY_PREFIX}${summary}` };
}

/** The summary text when `message` is a summary this module wrote (a stored history starts with it). */
export function summaryOf(message: ChatMessage): string | undefined {
  const { role, content } = message;
  return role === 'user' && typeof content === 'string' && content.startsWith(SUMMARY_PREFIX)
    ? content.slice(SUMMARY_PREFIX.length)
    : undefined;
}

/**
 * The run's compaction after one more compaction of its context. The context is always the system
 * message, then (after an earlier compaction) the summary, then conversation messages; a compaction
 * replaces a prefix of what follows the system message, the earlier summary included.
 */
export function foldCompaction(previous: ContextCompaction | undefined, next: Compaction): ContextCompaction {
  const replacedBefore = previous ? previous.replaces - 1 : 0;
  return { summary: next.summary, replaces: replacedBefore + next.summarised };
}

/** A conversation as the next turn should load it: the summary, then what it does not replace. */
export function compactedConversation(
  conversation: readonly ChatMessage[],
  compaction: ContextCompaction,
): ChatMessage[] {
  return [summaryMessage(compaction.summary), ...conversation.slice(compaction.replaces)];
}

function leadingSystemMessages(messages: readonly ChatMessage[]): number {
  const first = messages.findIndex((m) => m.role !== 'system');
  return first === -1 ? messages.length : first;
}

/**
 * Where the kept part starts: the earliest point whose tail fits `keep` tokens, so as much as possible
 * stays verbatim, at least one message is summarised, and the tail never starts with a tool result nor
 * after an unanswered tool call. When even the shortest valid tail is over `keep`, that tail is kept.
 * With `force`, at most the last turn (from the last user message) is kept.
 */
function chooseSplit(
  messages: readonly ChatMessage[],
  counts: number[],
  lead: number,
  keep: number,
  force: boolean,
): number | undefined {
  const last = Math.min(messages.length - 1, firstUnansweredCall(messages) ?? messages.length);
  let tail = sum(counts.slice(last + 1));
  let chosen: number | undefined;
  for (let s = last; s > lead; s--) {
    tail += counts[s] ?? 0;
    if (messages[s]!.role === 'tool') continue;
    if (chosen !== undefined && tail > keep) break;
    chosen = s;
  }
  if (chosen !== undefined && force) {
    const lastUser = messages.findLastIndex((m, i) => i > lead && i <= last && m.role === 'user');
    if (lastUser > chosen) chosen = lastUser;
  }
  return chosen;
}

/** Index of the first assistant message with a tool call that no later tool message answers. */
function firstUnansweredCall(messages: readonly ChatMessage[]): number | undefined {
  const answered = new Set(messages.flatMap((m) => (m.role === 'tool' ? [m.toolCallId] : [])));
  const index = messages.findIndex(
    (m) => m.role === 'assistant' && (m.toolCalls ?? []).some((call) => !answered.has(call.id)),
  );
  return index === -1 ? undefined : index;
}

/** Groups messages into runs of at most `budget` tokens (a larger message goes alone). */
function chunks(
  messages: ChatMessage[],
  counts: number[],
  budget: number,
): { message: ChatMessage; count: number }[][] {
  const groups: { message: ChatMessage; count: number }[][] = [];
  let current: { message: ChatMessage; count: number }[] = [];
  let size = 0;
  messages.forEach((message, i) => {
    const count = counts[i] ?? 0;
    if (current.length > 0 && size + count > budget) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push({ message, count });
    size += count;
  });
  if (current.length > 0) groups.push(current);
  return groups;
}

/** A message as transcript text for the summariser; one larger than `budget` tokens is cut in the middle. */
function render(message: ChatMessage, count: number, budget: number): string {
  const text = transcriptText(message);
  if (count <= budget) return text;
  const keepChars = Math.floor((text.length * budget * 0.9) / count);
  const half = Math.floor(keepChars / 2);
  return `${text.slice(0, half)}\n[… ${text.length - 2 * half} characters cut …]\n${text.slice(-half)}`;
}

function transcriptText(message: ChatMessage): string {
  switch (message.role) {
    case 'system':
      return `[system] ${message.content}`;
    case 'user':
      return typeof message.content === 'string'
        ? `[user] ${message.content}`
        : `[user] ${message.content.map((p) => (p.type === 'text' ? p.text : '[image]')).join('\n')}`;
    case 'assistant': {
      const calls = (message.toolCalls ?? []).map((c) => `[assistant called tool ${c.name}] ${c.arguments}`);
      return [message.content ? `[assistant] ${message.content}` : '', ...calls].filter(Boolean).join('\n');
    }
    case 'tool':
      return `[tool result] ${message.content}`;
    default: {
      const unreachable: never = message;
      return unreachable;
    }
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
