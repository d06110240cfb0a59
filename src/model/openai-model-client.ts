/**
 * `OpenAIModelClient`: the `ModelClient` for any OpenAI-compatible upstream (OpenAI, OpenRouter, Ollama,
 * llama.cpp, vLLM…) through the official `openai` SDK. It streams one model turn as `ModelDelta`s,
 * passes the upstream's separately streamed reasoning on (see upstream-reasoning.ts), reassembles tool
 * calls from their fragments, reports the upstream's usage or a tokenizer estimate,
 * retries transient failures only while nothing has been yielded (a half-streamed answer cannot be
 * replayed), and turns every failure into a `ModelError` or `RunAbortedError`. It does not run tools,
 * keep history or know about the agent loop.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type OpenAI from 'openai';
import type { HeraldConfig } from '../config/schema.ts';
import type { Logger } from '../logger.ts';
import { ModelError, RunAbortedError } from './errors.ts';
import { createNodeHttpFetch } from './node-http-fetch.ts';
import { sseJsonChunks } from './sse-stream.ts';
import { estimateUsage, prepareTokenEstimator } from './token-estimator.ts';
import type { ModelClient, ModelDelta, ModelFinishReason, ModelRequest, ToolCall, Usage } from './types.ts';
import { contextWindowFromModelList } from './upstream-context-window.ts';
import {
  displayUrl,
  isRetryable,
  retryAfterMs,
  toModelError,
  type UpstreamContext,
} from './upstream-errors.ts';
import { reasoningOf } from './upstream-reasoning.ts';
import { toWireParams } from './wire-messages.ts';

export type ModelConfig = HeraldConfig['model'];

export interface OpenAIModelClientOptions {
  logger?: Logger;
  /** First backoff step in ms (doubled per attempt, with jitter). Tests pass a few ms. */
  retryBaseMs?: number;
  /** Replaces global fetch (tests, proxies). */
  fetch?: typeof fetch;
  /** Overrides `model.timeout_s` with finer grain (tests). */
  timeoutMs?: number;
}

/** Default upstream when only an API key is configured. */
export const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

export const MODEL_NOT_CONFIGURED_MESSAGE =
  'No upstream model is configured. Run `herald setup`, or set HERALD_BASE_URL (e.g. https://openrouter.ai/api/v1 ' +
  'or http://localhost:11434/v1), HERALD_API_KEY and HERALD_MODEL.';

const DEFAULT_RETRY_BASE_MS = 500;
const MAX_BACKOFF_MS = 30_000;

/** Whether `config` names an upstream (a base URL or an API key for the default one) and a model. */
export function isModelConfigured(config: ModelConfig): boolean {
  return Boolean((config.base_url || config.api_key) && config.model);
}

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;
type ToolCallFragment = OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta.ToolCall;
type PartialCall = { id: string | undefined; name: string; arguments: string };

export class OpenAIModelClient implements ModelClient {
  readonly #config: ModelConfig;
  readonly #clientOptions: ConstructorParameters<typeof OpenAI>[0];
  #client: Promise<OpenAI> | undefined;
  /** The upstream's model list, fetched once on first need; `[]` when it could not be read. */
  #modelList: Promise<unknown[]> | undefined;
  readonly #context: UpstreamContext;
  readonly #logger: Logger | undefined;
  readonly #retryBaseMs: number;
  readonly #timeoutMs: number;

  constructor(config: ModelConfig, options: OpenAIModelClientOptions = {}) {
    this.#config = config;
    const baseURL = config.base_url ?? DEFAULT_BASE_URL;
    this.#timeoutMs = options.timeoutMs ?? config.timeout_s * 1000;
    this.#clientOptions = {
      baseURL,
      // Local servers (Ollama, llama.cpp) take no key, but the SDK insists on one.
      apiKey: config.api_key ?? 'not-needed',
      // Retries are ours: the SDK cannot know whether a partial stream was already handed to the user.
      maxRetries: 0,
      timeout: this.#timeoutMs,
      // node:http instead of undici's fetch unless the caller brings its own (see node-http-fetch.ts).
      fetch: options.fetch ?? createNodeHttpFetch(),
    };
    this.#context = { baseUrl: displayUrl(baseURL), apiKey: config.api_key };
    this.#logger = options.logger;
    this.#retryBaseMs = options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS;
  }

  async *stream(request: ModelRequest, signal: AbortSignal): AsyncGenerator<ModelDelta> {
    const model = request.model || this.#config.model;
    if (!(this.#config.base_url || this.#config.api_key) || !model) {
      throw new ModelError('upstream_not_configured', MODEL_NOT_CONFIGURED_MESSAGE);
    }
    const params = toWireParams(
      { ...request, model },
      this.#config.max_tokens,
      this.#config.mid_conversation_system,
    );
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) throw new RunAbortedError();
      let yielded = false;
      try {
        for await (const delta of this.#streamOnce(params, request, signal)) {
          yielded = true;
          yield delta;
        }
        return;
      } catch (err) {
        if (signal.aborted || err instanceof RunAbortedError) throw new RunAbortedError();
        const error = toModelError(err, this.#context);
        if (yielded || attempt >= this.#config.max_retries || !isRetryable(err)) throw error;
        const delayMs = this.#backoffMs(attempt, err);
        this.#logger?.warn(
          { event: 'model.retry', attempt: attempt + 1, delayMs, code: error.code, status: error.status },
          'retrying the upstream model call',
        );
        try {
          await sleep(delayMs, undefined, { signal });
        } catch {
          throw new RunAbortedError();
        }
      }
    }
  }

  /**
   * The context window the upstream reports for `model` (see upstream-context-window.ts), from one
   * `GET /models` made on first call; undefined when the upstream does not say or cannot be asked.
   */
  async contextWindow(model: string): Promise<number | undefined> {
    this.#modelList ??= this.#sdk()
      .then((sdk) => sdk.models.list({ timeout: 5_000, maxRetries: 0 }))
      .then((page) => page.data as unknown[])
      .catch((error: unknown) => {
        this.#logger?.debug(
          { event: 'model.list_failed', err: error },
          'could not read the upstream model list',
        );
        return [];
      });
    return contextWindowFromModelList(await this.#modelList, model || this.#config.model || '');
  }

  /**
   * The SDK is imported on first use: it takes a few hundred ms to load, which commands that never call
   * the model (`--help`, `config show`) and the gateway's startup should not pay.
   */
  #sdk(): Promise<OpenAI> {
    this.#client ??= import('openai').then(({ default: SDK }) => new SDK(this.#clientOptions));
    return this.#client;
  }

  /** Exponential backoff with jitter, unless the upstream said how long to wait. */
  #backoffMs(attempt: number, err: unknown): number {
    const asked = retryAfterMs(err);
    if (asked !== undefined) return asked;
    const exponential = Math.min(this.#retryBaseMs * 2 ** attempt, MAX_BACKOFF_MS);
    return Math.round(exponential * (0.5 + Math.random() * 0.5));
  }

  /**
   * One upstream request, streamed. Its own abort controller lets the idle timer cancel a stalled stream
   * (the SDK's timeout only covers the wait for response headers) and follows the caller's signal.
   */
  async *#streamOnce(
    params: OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming,
    request: ModelRequest,
    signal: AbortSignal,
  ): AsyncGenerator<ModelDelta> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    // Idle time is counted while we wait for the upstream, not while the caller holds a delta (a slow
    // reader downstream is not a stalled upstream). One timer, refreshed per chunk: a new timer per
    // chunk was measurable at hundreds of chunks per second.
    let consumerBusy = false;
    const timer = setTimeout(() => {
      if (consumerBusy) return;
      timedOut = true;
      controller.abort();
    }, this.#timeoutMs);
    // The SDK swallows aborts mid-stream (the iterator just ends), so the cause is checked explicitly.
    const interruption = (): Error | undefined => {
      if (signal.aborted) return new RunAbortedError();
      if (timedOut) {
        return new ModelError(
          'upstream_timeout',
          `The upstream model at ${this.#context.baseUrl} sent nothing for ${this.#timeoutMs / 1000} s (model.timeout_s).`,
        );
      }
      return undefined;
    };

    const assembly = new ToolCallAssembly();
    let text = '';
    // Counted with the answer when the upstream reports no usage: it is output the model produced.
    let reasoning = '';
    let finishReason: string | undefined;
    let usage: Chunk['usage'];
    try {
      let stream: AsyncIterable<Chunk>;
      try {
        const sdk = await this.#sdk();
        // The SDK sends the request and turns HTTP errors into APIErrors; the body is decoded here.
        const response = await sdk.chat.completions
          .create(params, { signal: controller.signal })
          .asResponse();
        stream = sseJsonChunks<Chunk>(response);
      } catch (err) {
        throw interruption() ?? err;
      }
      try {
        let first = true;
        for await (const chunk of stream) {
          consumerBusy = true;
          // Upstreams that will report usage say `usage: null` until the last chunk; one that omits the
          // key will need an estimate at the end, so the tokenizer starts building now, off-thread.
          if (first && !('usage' in chunk)) prepareTokenEstimator();
          first = false;
          if (chunk.usage) usage = chunk.usage;
          const choice = chunk.choices[0];
          if (choice) {
            const thought = choice.delta ? reasoningOf(choice.delta) : '';
            if (thought) {
              reasoning += thought;
              yield { type: 'reasoning', text: thought };
            }
            const content = choice.delta?.content;
            if (content) {
              text += content;
              yield { type: 'text', text: content };
            }
            for (const fragment of choice.delta?.tool_calls ?? []) yield assembly.add(fragment);
            if (choice.finish_reason) finishReason = choice.finish_reason;
          }
          consumerBusy = false;
          timer.refresh();
        }
      } catch (err) {
        throw interruption() ?? err;
      }
      const interrupted = interruption();
      if (interrupted) throw interrupted;
      clearTimeout(timer);
      if (finishReason === undefined) {
        throw new ModelError(
          'upstream_stream_cut',
          `The upstream model at ${this.#context.baseUrl} ended its stream before finishing the answer.`,
        );
      }
      const toolCalls = assembly.toolCalls();
      yield {
        type: 'finish',
        finishReason: normalizeFinishReason(finishReason, toolCalls.length > 0),
        toolCalls,
        usage: usage
          ? fromWireUsage(usage)
          : await estimateUsage(request, { text: reasoning + text, toolCalls }),
      };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }
}

/** Collects streamed tool-call fragments by index into whole calls. */
class ToolCallAssembly {
  readonly #calls = new Map<number, PartialCall>();
  #lastIndex = -1;

  add(fragment: ToolCallFragment): ModelDelta {
    const index = this.#indexOf(fragment);
    this.#lastIndex = index;
    let call = this.#calls.get(index);
    if (!call) {
      call = { id: undefined, name: '', arguments: '' };
      this.#calls.set(index, call);
    }
    const name = fragment.function?.name;
    const argumentsDelta = fragment.function?.arguments;
    if (fragment.id) call.id ??= fragment.id;
    // OpenAI sends the name once; some servers repeat it in every fragment, which must not double it.
    if (name && name !== call.name) call.name += name;
    if (argumentsDelta) call.arguments += argumentsDelta;
    const delta: ModelDelta = { type: 'tool-call-delta', index };
    if (fragment.id) delta.id = fragment.id;
    if (name) delta.name = name;
    if (argumentsDelta) delta.argumentsDelta = argumentsDelta;
    return delta;
  }

  toolCalls(): ToolCall[] {
    return [...this.#calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, call]) => ({
        // A few local servers omit ids; the agent needs one to pair tool results with calls.
        id: call.id ?? `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
        name: call.name,
        arguments: call.arguments,
      }));
  }

  /** Some servers omit `index`; a fragment with a new id then starts a new call, otherwise continues the last. */
  #indexOf(fragment: ToolCallFragment): number {
    if (typeof fragment.index === 'number') return fragment.index;
    const known = [...this.#calls.entries()].find(
      ([, c]) => fragment.id !== undefined && c.id === fragment.id,
    );
    if (known) return known[0];
    if (fragment.id !== undefined || this.#lastIndex < 0) return this.#calls.size;
    return this.#lastIndex;
  }
}

function normalizeFinishReason(reason: string, hasToolCalls: boolean): ModelFinishReason {
  switch (reason) {
    case 'length':
    case 'content_filter':
    case 'tool_calls':
      return reason;
    case 'function_call':
      return 'tool_calls';
    default:
      // Some servers say `stop` (or something of their own) even when the turn is tool calls.
      return hasToolCalls ? 'tool_calls' : 'stop';
  }
}

function fromWireUsage(usage: NonNullable<Chunk['usage']>): Usage {
  const promptTokens = usage.prompt_tokens ?? 0;
  const completionTokens = usage.completion_tokens ?? 0;
  const reasoningTokens = usage.completion_tokens_details?.reasoning_tokens;
  return {
    promptTokens,
    completionTokens,
    totalTokens: usage.total_tokens ?? promptTokens + completionTokens,
    estimated: false,
    ...(typeof reasoningTokens === 'number' ? { reasoningTokens } : {}),
  };
}
