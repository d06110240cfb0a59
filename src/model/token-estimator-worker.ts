/**
 * The worker thread behind the token estimator: it builds the js-tiktoken encoder (cl100k_base) once,
 * off the main thread — building it blocks for the better part of a second — and answers count
 * requests (`{ id, texts }` → `{ id, counts }`). If the encoder cannot be loaded it counts characters
 * / 4, the usual rule of thumb. It knows nothing of messages or usage; token-estimator.ts does.
 */
import { parentPort } from 'node:worker_threads';

type Encoder = { encode(text: string, allowedSpecial: string[], disallowedSpecial: string[]): number[] };

async function loadEncoder(): Promise<Encoder | undefined> {
  try {
    const [{ Tiktoken }, ranks] = await Promise.all([
      import('js-tiktoken/lite'),
      import('js-tiktoken/ranks/cl100k_base'),
    ]);
    return new Tiktoken(ranks.default);
  } catch {
    return undefined;
  }
}

const encoder = loadEncoder();

function count(encoder: Encoder | undefined, text: string): number {
  if (text.length === 0) return 0;
  if (!encoder) return Math.ceil(text.length / 4);
  // Special-token text inside user content must be counted as plain text, never rejected.
  return encoder.encode(text, [], []).length;
}

parentPort?.on('message', async (message: { id: number; texts: string[] }) => {
  const loaded = await encoder;
  parentPort?.postMessage({ id: message.id, counts: message.texts.map((text) => count(loaded, text)) });
});
