/**
 * The tokenizer behind token estimates, shared by the estimator's worker thread and its on-thread
 * fallback: loads js-tiktoken's cl100k_base encoder and counts one text with it, or with characters / 4
 * (the usual rule of thumb) when the encoder cannot be loaded. Loading blocks for the better part of a
 * second; where that happens is the caller's choice (token-estimator.ts).
 */

export type Encoder = {
  encode(text: string, allowedSpecial: string[], disallowedSpecial: string[]): number[];
};

/** The cl100k_base encoder, or undefined when it cannot be loaded (counts then fall back to chars / 4). */
export async function loadCl100kEncoder(): Promise<Encoder | undefined> {
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

export function countTokens(encoder: Encoder | undefined, text: string): number {
  if (text.length === 0) return 0;
  if (!encoder) return Math.ceil(text.length / 4);
  // Special-token text inside user content must be counted as plain text, never rejected.
  return encoder.encode(text, [], []).length;
}
