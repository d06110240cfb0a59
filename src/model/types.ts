/**
 * The model client's contract: messages in OpenAI chat format, a streaming request, and the deltas a
 * model turn produces. The agent depends on this interface only, never on the `openai` SDK, so tests
 * and future providers can slot in behind it. It says nothing about retries or transport.
 */

/** A content part of a user message: text, or an image the upstream model may look at. */
export type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string; detail?: 'auto' | 'low' | 'high' } };

/** One tool call the model asked for, reassembled from its streamed fragments. */
export interface ToolCall {
  id: string;
  name: string;
  /** The raw JSON string the model produced; may be invalid JSON if the model erred. */
  arguments: string;
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string | ContentPart[]; name?: string }
  | { role: 'assistant'; content: string | null; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; content: string };

/**
 * A tool as the model sees it: a name, a description and a JSON Schema for its arguments. Client tools
 * (declared by an API caller) may omit the description and schema and carry `strict`; all of it goes
 * to the upstream as given.
 */
export interface ToolSpec {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
  strict?: boolean | null;
}

/** The output format the upstream must produce (chat `response_format`, Responses `text.format`). */
export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | {
      type: 'json_schema';
      name: string;
      schema?: Record<string, unknown>;
      description?: string;
      strict?: boolean;
    };

export type ReasoningEffort = 'none' | 'minimal' | 'low' | 'medium' | 'high' | 'xhigh';

/**
 * Per-request sampling settings a client may set, forwarded upstream only when given (so the upstream's
 * own defaults apply otherwise). Values are range-checked at the API edge.
 */
export interface SamplingSettings {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  responseFormat?: ResponseFormat;
  reasoningEffort?: ReasoningEffort;
  /** Token id (as a string) → bias -100..100. */
  logitBias?: Record<string, number>;
  verbosity?: 'low' | 'medium' | 'high';
}

/** OpenAI's `tool_choice`: let the model decide, forbid tools, require one, or force a named function. */
export type ToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; name: string };

export interface ModelRequest extends SamplingSettings {
  /** Upstream model id, e.g. `anthropic/claude-sonnet-4` or `llama3.1`. */
  model: string;
  messages: ChatMessage[];
  tools?: ToolSpec[];
  /** Sent only with tools; omitted = the upstream's default (`auto`). */
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** True when at least one model call's counts were estimated with a tokenizer (upstream sent none). */
  estimated: boolean;
  /**
   * Of `completionTokens`, those the model spent reasoning, when the upstream reports them
   * (`completion_tokens_details.reasoning_tokens`); absent when it does not.
   */
  reasoningTokens?: number;
}

export type ModelFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/**
 * What `ModelClient.stream` yields. Text, reasoning and tool-call fragments arrive as they stream;
 * `finish` comes last, exactly once, with the reassembled tool calls and the call's usage (real or
 * estimated). `reasoning` is the model's thinking as the upstream streams it separately from the answer
 * (`reasoning_content`, `reasoning`, `reasoning_details`); it is never part of `text`.
 */
export type ModelDelta =
  | { type: 'text'; text: string }
  | { type: 'reasoning'; text: string }
  | { type: 'tool-call-delta'; index: number; id?: string; name?: string; argumentsDelta?: string }
  | { type: 'finish'; finishReason: ModelFinishReason; toolCalls: ToolCall[]; usage: Usage };

export interface ModelClient {
  /** Streams one model turn. Aborting `signal` cancels the upstream request. Throws `ModelError`s. */
  stream(request: ModelRequest, signal: AbortSignal): AsyncIterable<ModelDelta>;
  /** The model's context window in tokens as the upstream reports it, when it does. */
  contextWindow?(model: string): Promise<number | undefined>;
}

export const zeroUsage = (): Usage => ({
  promptTokens: 0,
  completionTokens: 0,
  totalTokens: 0,
  estimated: false,
});

export function addUsage(a: Usage, b: Usage): Usage {
  const sum: Usage = {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    totalTokens: a.totalTokens + b.totalTokens,
    estimated: a.estimated || b.estimated,
  };
  if (a.reasoningTokens !== undefined || b.reasoningTokens !== undefined)
    sum.reasoningTokens = (a.reasoningTokens ?? 0) + (b.reasoningTokens ?? 0);
  return sum;
}
