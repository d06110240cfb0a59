/**
 * Token counts for upstreams that send no usage (many local servers, some proxies). Counts come from a
 * real BPE tokenizer (js-tiktoken, cl100k_base) so they are close for most modern models, and the
 * result is always marked `estimated`. The tokenizer's ranks are loaded on first use only: building the
 * encoder costs hundreds of milliseconds, which Herald's cold start must not pay when every upstream
 * reports usage. If loading fails, counts fall back to characters / 4. This module does not try to match
 * any particular model's tokenizer exactly.
 */
import type { ChatMessage, ModelRequest, ToolCall, Usage } from './types.ts';

type Encoder = { encode(text: string, allowedSpecial: string[], disallowedSpecial: string[]): number[] };

/** Tokens chat formats add around each message (role markers, separators), per OpenAI's cookbook. */
const TOKENS_PER_MESSAGE = 4;
/** Tokens that prime the assistant's reply. */
const REPLY_PRIMING_TOKENS = 3;
/** A rough per-image cost; real costs depend on size and detail, which we do not know here. */
const TOKENS_PER_IMAGE = 85;

let encoderPromise: Promise<Encoder | undefined> | undefined;

function loadEncoder(): Promise<Encoder | undefined> {
  encoderPromise ??= (async () => {
    try {
      const [{ Tiktoken }, ranks] = await Promise.all([
        import('js-tiktoken/lite'),
        import('js-tiktoken/ranks/cl100k_base'),
      ]);
      return new Tiktoken(ranks.default);
    } catch {
      // An estimate is still better than no usage at all; chars / 4 is the usual rule of thumb.
      return undefined;
    }
  })();
  return encoderPromise;
}

function count(encoder: Encoder | undefined, text: string): number {
  if (text.length === 0) return 0;
  if (!encoder) return Math.ceil(text.length / 4);
  // Special-token text inside user content must be counted as plain text, never rejected.
  return encoder.encode(text, [], []).length;
}

/** Counts the tokens of one text (loads the tokenizer on first call). */
export async function estimateTokens(text: string): Promise<number> {
  return count(await loadEncoder(), text);
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

/** Estimates a model call's usage from what was sent and what came back; `estimated` is always true. */
export async function estimateUsage(
  request: ModelRequest,
  output: { text: string; toolCalls: ToolCall[] },
): Promise<Usage> {
  const encoder = await loadEncoder();
  let promptTokens = REPLY_PRIMING_TOKENS;
  for (const message of request.messages) {
    const { text, images } = messageText(message);
    promptTokens += TOKENS_PER_MESSAGE + count(encoder, text) + images * TOKENS_PER_IMAGE;
  }
  if (request.tools?.length) promptTokens += count(encoder, JSON.stringify(request.tools));
  let completionTokens = count(encoder, output.text);
  for (const call of output.toolCalls) completionTokens += count(encoder, call.name + call.arguments);
  return {
    promptTokens,
    completionTokens,
    totalTokens: promptTokens + completionTokens,
    estimated: true,
  };
}
