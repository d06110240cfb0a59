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

/** A tool as the model sees it: a name, a description and a JSON Schema for its arguments. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface ModelRequest {
  /** Upstream model id, e.g. `anthropic/claude-sonnet-4` or `llama3.1`. */
  model: string;
  messages: ChatMessage[];
  tools?: ToolSpec[];
  maxTokens?: number;
  temperature?: number;
  topP?: number;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** True when at least one model call's counts were estimated with a tokenizer (upstream sent none). */
  estimated: boolean;
}

export type ModelFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/**
 * What `ModelClient.stream` yields. Text and tool-call fragments arrive as they stream; `finish` comes
 * last, exactly once, with the reassembled tool calls and the call's usage (real or estimated).
 */
export type ModelDelta =
  | { type: 'text'; text: string }
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
  return {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    totalTokens: a.totalTokens + b.totalTokens,
    estimated: a.estimated || b.estimated,
  };
}
