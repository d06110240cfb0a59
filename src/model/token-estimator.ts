/**
 * Token counts for upstreams that send no usage (many local servers, some proxies). Counts come from a
 * real BPE tokenizer (js-tiktoken, cl100k_base) so they are close for most modern models, and the
 * result is always marked `estimated`. The tokenizer lives in a worker thread
 * (token-estimator-worker.ts): building it takes the better part of a second and encoding a long
 * conversation takes milliseconds, neither of which may stall a server's event loop. The worker starts
 * on first use, or earlier through `prepareTokenEstimator` (the model client calls it as soon as a
 * stream looks like it will carry no usage), and costs ~13 MB once built. If the worker cannot run,
 * counting falls back to the tokenizer on this thread; if that cannot load, to characters / 4. This
 * module does not try to match any particular model's tokenizer exactly.
 */
import { Worker } from 'node:worker_threads';
import { countTokens, type Encoder, loadCl100kEncoder } from './cl100k-encoder.ts';
import type { ChatMessage, ModelRequest, ToolCall, Usage } from './types.ts';

/** Tokens chat formats add around each message (role markers, separators), per OpenAI's cookbook. */
const TOKENS_PER_MESSAGE = 4;
/** Tokens that prime the assistant's reply. */
const REPLY_PRIMING_TOKENS = 3;
/** A rough per-image cost; real costs depend on size and detail, which we do not know here. */
const TOKENS_PER_IMAGE = 85;

/** The worker, while it works; undefined before first use, `false` once it failed (then: this thread). */
let counter: WorkerCounter | false | undefined;

/** Starts building the tokenizer in the background, so a later estimate does not wait for it. */
export function prepareTokenEstimator(): void {
  workerCounter();
}

function workerCounter(): WorkerCounter | undefined {
  if (counter === undefined) {
    try {
      counter = new WorkerCounter(() => {
        counter = false;
      });
    } catch {
      counter = false;
    }
  }
  return counter || undefined;
}

/** Counts texts in the worker; rejects if the worker dies (the caller then counts on this thread). */
class WorkerCounter {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (counts: number[]) => void; reject: (e: Error) => void }>();
  #nextId = 0;

  constructor(onFailure: () => void) {
    // `.ts` when running from source (type stripping), `.js` in the compiled build.
    const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
    this.#worker = new Worker(new URL(`./token-estimator-worker.${extension}`, import.meta.url));
    this.#worker.on('message', (message: { id: number; counts: number[] }) => {
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (this.#pending.size === 0) this.#worker.unref();
      pending?.resolve(message.counts);
    });
    const fail = (error: Error): void => {
      onFailure();
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`token estimator worker exited (${code})`)));
    // An idle tokenizer must not keep a finished process alive; it is ref'd only while counts are
    // pending. This comes after the listeners on purpose: adding a 'message' listener refs the worker's
    // port again, which kept `herald chat -q` and `herald serve` from ever exiting.
    this.#worker.unref();
  }

  count(texts: string[]): Promise<number[]> {
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, texts });
    });
  }
}

let localEncoder: Promise<Encoder | undefined> | undefined;

/** The tokenizer on this thread: only when the worker cannot run (it blocks while it builds). */
function loadLocalEncoder(): Promise<Encoder | undefined> {
  localEncoder ??= loadCl100kEncoder();
  return localEncoder;
}

/** Token counts of `texts`, in order. */
async function countAll(texts: string[]): Promise<number[]> {
  const worker = workerCounter();
  if (worker) {
    try {
      return await worker.count(texts);
    } catch {
      // The worker died (or could not start): count here instead.
    }
  }
  const encoder = await loadLocalEncoder();
  return texts.map((text) => countTokens(encoder, text));
}

/** Counts the tokens of one text (starts the tokenizer on first call). */
export async function estimateTokens(text: string): Promise<number> {
  if (text.length === 0) return 0;
  const [count] = await countAll([text]);
  return count ?? 0;
}

function messageText(message: ChatMessage): { text: string; images: number } {
  switch (message.role) {
    case 'system':
      return { text: message.content, images: 0 };
    case 'user': {
      if (typeof message.content === 'string') return { text: message.content, images: 0 };
      let text = '';
      let images = 0;
      for (const part of message.content) {
        if (part.type === 'text') text += part.text;
        else images++;
      }
      return { text, images };
    }
    case 'assistant': {
      const calls = (message.toolCalls ?? []).map((c) => `${c.name}${c.arguments}`).join('');
      return { text: (message.content ?? '') + calls, images: 0 };
    }
    case 'tool':
      return { text: message.content, images: 0 };
    default: {
      const unreachable: never = message;
      return unreachable;
    }
  }
}

/**
 * Estimated prompt tokens of each message (its text plus the per-message framing and images), in
 * order, in one round trip to the tokenizer. The context compactor sizes a conversation with it.
 */
export async function estimateMessageTokens(messages: readonly ChatMessage[]): Promise<number[]> {
  const parts = messages.map(messageText);
  const counts = await countAll(parts.map((p) => p.text));
  return parts.map((p, i) => (counts[i] ?? 0) + TOKENS_PER_MESSAGE + p.images * TOKENS_PER_IMAGE);
}

/** Estimates a model call's usage from what was sent and what came back; `estimated` is always true. */
export async function estimateUsage(
  request: ModelRequest,
  output: { text: string; toolCalls: ToolCall[] },
): Promise<Usage> {
  // Everything is counted in one round trip: prompt texts, the tool specs, then the output texts.
  const texts: string[] = [];
  let promptTokens = REPLY_PRIMING_TOKENS;
  for (const message of request.messages) {
    const { text, images } = messageText(message);
    texts.push(text);
    promptTokens += TOKENS_PER_MESSAGE + images * TOKENS_PER_IMAGE;
  }
  if (request.tools?.length) texts.push(JSON.stringify(request.tools));
  const toolsTexts = texts.length;
  texts.push(output.text);
  for (const call of output.toolCalls) texts.push(call.name + call.arguments);
  const counts = await countAll(texts);
  let completionTokens = 0;
  counts.forEach((count, i) => {
    if (i < toolsTexts) promptTokens += count;
    else completionTokens += count;
  });
  return {
    promptTokens,
    completionTokens,
    totalTokens: promptTokens + completionTokens,
    estimated: true,
  };
}
