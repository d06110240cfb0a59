/**
 * Builds one Responses API response from the agent's events: the output items (one hosted-tool
 * `mcp_call` item per tool the agent ran, `server_label: "herald"` for built-ins and the server's name
 * for an MCP server's tool; `reasoning` items whose one `summary_text` part holds the upstream model's
 * streamed reasoning; `message` items with `output_text`
 * for its text; `function_call` items for calls to the client's own tools that end the turn),
 * the final Response object, and — when streaming — every `response.*` event in order with
 * `sequence_number`s from 0. Streaming and non-streaming requests go through the same builder (the
 * latter ignores the events), so both produce the same stored response. It writes nothing itself;
 * the route hands it a sink for events and stores what `finish` returns.
 */
import type { AgentEvent } from '../../../agent/index.ts';
import type { Usage } from '../../../model/index.ts';
import { newId, type ResponseItem, type ResponseStatus } from '../../../store/index.ts';
import type { ToolOrigin } from '../../../tools/index.ts';

/** Request fields a Response echoes back, fixed when the request is accepted. */
export interface ResponseSettings {
  id: string;
  /** Unix seconds. */
  createdAt: number;
  model: string;
  instructions: string | null;
  previousResponseId: string | null;
  conversationId: string | null;
  store: boolean;
  metadata: Record<string, string>;
  maxOutputTokens: number | null;
  maxToolCalls: number | null;
  temperature: number;
  topP: number;
  presencePenalty: number;
  frequencyPenalty: number;
  topLogprobs: number;
  /** Already in the echoed shape (see echoed-tools.ts). */
  tools: unknown[];
  toolChoice: unknown;
  parallelToolCalls: boolean;
  /** `{ format, verbosity }` with the format's every field present. */
  text: Record<string, unknown>;
  reasoning: { effort: string | null; summary: string | null };
  truncation: 'auto' | 'disabled';
  user: string | null;
  safetyIdentifier: string | null;
  promptCacheKey: string | null;
}

export interface ResponseStreamEvent {
  type: string;
  sequence_number: number;
  [field: string]: unknown;
}

export type EventSink = (event: ResponseStreamEvent) => Promise<void>;

export interface ResponseBuilderOptions {
  /** Receives every stream event in order; omitted for non-streamed requests. */
  sink?: EventSink;
}

/** How a run ended, as the route saw it. */
export type RunOutcome =
  | { kind: 'done'; event: Extract<AgentEvent, { type: 'done' }> }
  /** The client went away or asked to cancel. */
  | { kind: 'cancelled'; usage: Usage }
  /** The server stopped the run (shutdown). */
  | { kind: 'interrupted'; usage: Usage }
  | { kind: 'failed'; code: string; message: string; usage: Usage };

export interface FinishedResponse {
  status: ResponseStatus;
  body: Record<string, unknown>;
  output: ResponseItem[];
  /** The terminal stream event's type (`response.completed`, `.incomplete`, `.failed`). */
  terminal: string;
}

interface OpenMessage {
  item: ResponseItem & { content: Record<string, unknown>[] };
  index: number;
  text: string;
}

/** A `reasoning` item still receiving text: one summary part, index 0. */
interface OpenReasoning {
  item: ResponseItem & { summary: { type: 'summary_text'; text: string }[] };
  index: number;
  text: string;
}

export function toResponseUsage(usage: Usage): Record<string, unknown> {
  return {
    input_tokens: usage.promptTokens,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    output_tokens: usage.completionTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
    total_tokens: usage.totalTokens,
  };
}

export class ResponseBuilder {
  readonly #settings: ResponseSettings;
  readonly #sink: EventSink;
  readonly #output: ResponseItem[] = [];
  /** `mcp_call` items waiting for their tool's result, by tool call id. */
  readonly #openCalls = new Map<string, ResponseItem>();
  #sequence = 0;
  #message: OpenMessage | undefined;
  #reasoning: OpenReasoning | undefined;

  constructor(settings: ResponseSettings, options: ResponseBuilderOptions = {}) {
    this.#settings = settings;
    this.#sink = options.sink ?? (async () => {});
  }

  /** The Response object in a given state (`in_progress` while running). */
  snapshot(
    status: ResponseStatus,
    extra: {
      usage?: Usage | null;
      error?: { code: string; message: string } | null;
      incompleteReason?: string;
      completedAt?: number;
    } = {},
  ): Record<string, unknown> {
    const s = this.#settings;
    return {
      id: s.id,
      object: 'response',
      created_at: s.createdAt,
      status,
      completed_at: extra.completedAt ?? null,
      background: false,
      error: extra.error ?? null,
      incomplete_details: extra.incompleteReason ? { reason: extra.incompleteReason } : null,
      instructions: s.instructions,
      max_output_tokens: s.maxOutputTokens,
      model: s.model,
      max_tool_calls: s.maxToolCalls,
      output: structuredClone(this.#output),
      parallel_tool_calls: s.parallelToolCalls,
      previous_response_id: s.previousResponseId,
      conversation: s.conversationId ? { id: s.conversationId } : null,
      reasoning: { ...s.reasoning },
      service_tier: 'default',
      store: s.store,
      temperature: s.temperature,
      top_p: s.topP,
      presence_penalty: s.presencePenalty,
      frequency_penalty: s.frequencyPenalty,
      top_logprobs: s.topLogprobs,
      text: structuredClone(s.text),
      tool_choice: s.toolChoice,
      tools: s.tools,
      truncation: s.truncation,
      usage: extra.usage ? toResponseUsage(extra.usage) : null,
      user: s.user,
      safety_identifier: s.safetyIdentifier,
      prompt_cache_key: s.promptCacheKey,
      metadata: s.metadata,
    };
  }

  /** `response.created` then `response.in_progress`. */
  async start(): Promise<void> {
    await this.#emit('response.created', { response: this.snapshot('in_progress') });
    await this.#emit('response.in_progress', { response: this.snapshot('in_progress') });
  }

  /** Feeds one non-terminal agent event; `done`/`error` go through `finish`. */
  async apply(event: AgentEvent): Promise<void> {
    switch (event.type) {
      case 'text-delta':
        return this.#textDelta(event.text);
      case 'reasoning-delta':
        return this.#reasoningDelta(event.text);
      case 'tool-call-start':
        return this.#mcpCall(event.toolCallId, event.origin, event.name, event.arguments);
      case 'tool-call-end':
        return this.#mcpResult(event.toolCallId, event.result, event.isError);
      case 'usage':
      case 'approval-requested':
      case 'approval-resolved':
      case 'done':
      case 'error':
        return;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  /**
   * Closes open items and returns the final Response. The terminal event is sent separately by
   * `sendTerminal`, so the route can store the response first: a client that reads
   * `response.completed` may chain on it at once.
   */
  async finish(outcome: RunOutcome, completedAt: number): Promise<FinishedResponse> {
    await this.#closeReasoning(outcome.kind === 'done' ? 'completed' : 'incomplete');
    await this.#closeMessage(outcome.kind === 'done' ? 'completed' : 'incomplete');
    if (outcome.kind === 'done') {
      for (const call of outcome.event.clientToolCalls ?? []) {
        await this.#functionCall(call.id, call.name, call.arguments);
      }
    }
    // Tools still running when the run stopped never got a result.
    for (const item of this.#openCalls.values()) item.status = 'incomplete';
    this.#openCalls.clear();
    const output = structuredClone(this.#output);
    switch (outcome.kind) {
      case 'done': {
        const length = outcome.event.finishReason === 'length';
        const status = length ? 'incomplete' : 'completed';
        const body = this.snapshot(status, {
          usage: outcome.event.usage,
          completedAt,
          incompleteReason: length ? 'max_output_tokens' : undefined,
        });
        return { status, body, output, terminal: length ? 'response.incomplete' : 'response.completed' };
      }
      case 'cancelled':
        // Usually nobody is listening any more; a `/cancel` call on a live stream still gets a terminal event.
        return {
          status: 'cancelled',
          body: this.snapshot('cancelled', { usage: outcome.usage, completedAt }),
          output,
          terminal: 'response.incomplete',
        };
      case 'interrupted':
        return {
          status: 'incomplete',
          body: this.snapshot('incomplete', {
            usage: outcome.usage,
            completedAt,
            incompleteReason: 'interrupted',
          }),
          output,
          terminal: 'response.incomplete',
        };
      case 'failed':
        return {
          status: 'failed',
          body: this.snapshot('failed', {
            usage: outcome.usage,
            completedAt,
            error: { code: outcome.code, message: outcome.message },
          }),
          output,
          terminal: 'response.failed',
        };
    }
  }

  async sendTerminal(finished: FinishedResponse): Promise<void> {
    await this.#emit(finished.terminal, { response: finished.body });
  }

  async #textDelta(delta: string): Promise<void> {
    if (delta === '') return;
    await this.#closeReasoning('completed');
    if (!this.#message) {
      const item = {
        id: newId('msg'),
        type: 'message',
        status: 'in_progress',
        role: 'assistant',
        content: [] as Record<string, unknown>[],
      };
      const index = this.#output.push(item) - 1;
      this.#message = { item, index, text: '' };
      await this.#emit('response.output_item.added', { output_index: index, item: structuredClone(item) });
      const part = { type: 'output_text', text: '', annotations: [] };
      item.content.push(part);
      await this.#emit('response.content_part.added', {
        item_id: item.id,
        output_index: index,
        content_index: 0,
        part: { ...part },
      });
    }
    const message = this.#message;
    message.text += delta;
    (message.item.content[0] as { text: string }).text = message.text;
    await this.#emit('response.output_text.delta', {
      item_id: message.item.id,
      output_index: message.index,
      content_index: 0,
      delta,
      logprobs: [],
    });
  }

  async #closeMessage(status: 'completed' | 'incomplete'): Promise<void> {
    const message = this.#message;
    if (!message) return;
    this.#message = undefined;
    const { item, index, text } = message;
    item.status = status;
    const part = { type: 'output_text', text, annotations: [], logprobs: [] };
    item.content[0] = part;
    await this.#emit('response.output_text.done', {
      item_id: item.id,
      output_index: index,
      content_index: 0,
      text,
      logprobs: [],
    });
    await this.#emit('response.content_part.done', {
      item_id: item.id,
      output_index: index,
      content_index: 0,
      part: { ...part },
    });
    await this.#emit('response.output_item.done', { output_index: index, item: structuredClone(item) });
  }

  /**
   * Reasoning streams into a `reasoning` item with one `summary_text` part (the events the OpenAI SDK's
   * accumulator and reasoning-aware clients read); answer text or a tool call after it closes it.
   */
  async #reasoningDelta(delta: string): Promise<void> {
    if (delta === '') return;
    await this.#closeMessage('completed');
    if (!this.#reasoning) {
      const item = {
        id: newId('rs'),
        type: 'reasoning',
        status: 'in_progress',
        summary: [] as { type: 'summary_text'; text: string }[],
      };
      const index = this.#output.push(item) - 1;
      this.#reasoning = { item, index, text: '' };
      await this.#emit('response.output_item.added', { output_index: index, item: structuredClone(item) });
      item.summary.push({ type: 'summary_text', text: '' });
      await this.#emit('response.reasoning_summary_part.added', {
        item_id: item.id,
        output_index: index,
        summary_index: 0,
        part: { type: 'summary_text', text: '' },
      });
    }
    const reasoning = this.#reasoning;
    reasoning.text += delta;
    reasoning.item.summary[0] = { type: 'summary_text', text: reasoning.text };
    await this.#emit('response.reasoning_summary_text.delta', {
      item_id: reasoning.item.id,
      output_index: reasoning.index,
      summary_index: 0,
      delta,
    });
  }

  async #closeReasoning(status: 'completed' | 'incomplete'): Promise<void> {
    const reasoning = this.#reasoning;
    if (!reasoning) return;
    this.#reasoning = undefined;
    const { item, index, text } = reasoning;
    item.status = status;
    const where = { item_id: item.id, output_index: index, summary_index: 0 };
    await this.#emit('response.reasoning_summary_text.done', { ...where, text });
    await this.#emit('response.reasoning_summary_part.done', {
      ...where,
      part: { type: 'summary_text', text },
    });
    await this.#emit('response.output_item.done', { output_index: index, item: structuredClone(item) });
  }

  /**
   * Adds a tool item (`arguments: ''`) and streams its arguments: `output_item.added`, then
   * `response.<kind>_arguments.delta` (when there are any) and `.done`. Returns the item's index.
   */
  async #addToolItem(
    item: ResponseItem,
    args: string,
    kind: 'function_call' | 'mcp_call',
    doneFields: Record<string, unknown> = {},
  ): Promise<number> {
    // Text before a tool call is its own message item; text after the tools starts a new one.
    await this.#closeReasoning('completed');
    await this.#closeMessage('completed');
    const index = this.#output.push(item) - 1;
    await this.#emit('response.output_item.added', { output_index: index, item: { ...item } });
    if (args !== '') {
      await this.#emit(`response.${kind}_arguments.delta`, {
        item_id: item.id,
        output_index: index,
        delta: args,
      });
    }
    item.arguments = args;
    await this.#emit(`response.${kind}_arguments.done`, {
      item_id: item.id,
      output_index: index,
      ...doneFields,
      arguments: args,
    });
    return index;
  }

  /** A call to one of the client's tools: the client runs it and sends a `function_call_output` back. */
  async #functionCall(callId: string, name: string, args: string): Promise<void> {
    const item: ResponseItem = {
      id: newId('fc'),
      type: 'function_call',
      status: 'in_progress',
      call_id: callId,
      name,
      arguments: '',
    };
    const index = await this.#addToolItem(item, args, 'function_call', { name });
    item.status = 'completed';
    await this.#emit('response.output_item.done', { output_index: index, item: { ...item } });
  }

  /**
   * A tool the agent runs itself: one hosted `mcp_call` item, opened at the start, completed with its
   * result. A tool of a configured MCP server is labelled with that server and its own tool name.
   */
  async #mcpCall(callId: string, origin: ToolOrigin | undefined, name: string, args: string): Promise<void> {
    const item: ResponseItem = {
      id: newId('mcp'),
      type: 'mcp_call',
      status: 'in_progress',
      server_label: origin?.server ?? 'herald',
      name: origin?.tool ?? name,
      arguments: '',
      output: null,
      error: null,
    };
    this.#openCalls.set(callId, item);
    const index = await this.#addToolItem(item, args, 'mcp_call');
    await this.#emit('response.mcp_call.in_progress', { item_id: item.id, output_index: index });
  }

  async #mcpResult(callId: string, result: string, isError: boolean): Promise<void> {
    const item = this.#openCalls.get(callId);
    if (!item) return;
    this.#openCalls.delete(callId);
    await this.#closeMessage('completed');
    const index = this.#output.indexOf(item);
    item.output = result;
    item.error = isError ? result : null;
    item.status = isError ? 'failed' : 'completed';
    await this.#emit(isError ? 'response.mcp_call.failed' : 'response.mcp_call.completed', {
      item_id: item.id,
      output_index: index,
    });
    await this.#emit('response.output_item.done', { output_index: index, item: { ...item } });
  }

  async #emit(type: string, fields: Record<string, unknown>): Promise<void> {
    await this.#sink({ type, sequence_number: this.#sequence++, ...fields });
  }
}
