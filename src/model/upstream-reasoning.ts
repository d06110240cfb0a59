/**
 * Reads the model's reasoning out of one streamed Chat Completions delta, whichever way the upstream
 * sends it: `reasoning_content` (DeepSeek, vLLM, llama.cpp, SiliconFlow), `reasoning` (OpenRouter,
 * Ollama, Groq) or `reasoning_details[]` (OpenRouter). OpenRouter sends the same text in both
 * `reasoning` and `reasoning_details`, so one delta's reasoning comes from the first field present,
 * never from several. Encrypted details carry no readable text and are skipped. It does not look at
 * `content`: reasoning inlined there as `<think>…</think>` stays part of the answer text.
 */

/** The reasoning fields an upstream may add to a delta (not in the OpenAI types). */
interface ReasoningFields {
  reasoning_content?: unknown;
  reasoning?: unknown;
  reasoning_details?: unknown;
}

export function reasoningOf(delta: object): string {
  const fields = delta as ReasoningFields;
  if (typeof fields.reasoning_content === 'string') return fields.reasoning_content;
  if (typeof fields.reasoning === 'string') return fields.reasoning;
  if (!Array.isArray(fields.reasoning_details)) return '';
  let text = '';
  for (const detail of fields.reasoning_details as unknown[]) {
    if (!detail || typeof detail !== 'object') continue;
    const { type, text: detailText, summary } = detail as Record<string, unknown>;
    if (type === 'reasoning.text' && typeof detailText === 'string') text += detailText;
    else if (type === 'reasoning.summary' && typeof summary === 'string') text += summary;
  }
  return text;
}
