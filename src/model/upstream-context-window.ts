/**
 * Reads a model's context window from the upstream's model list (GET {base}/models), where servers
 * that know it say so under their own field names: OpenRouter `context_length`, vLLM `max_model_len`,
 * llama.cpp `meta.n_ctx_train` (and `n_ctx`), LM Studio `max_context_length`. It only interprets list
 * entries; fetching (once, lazily) is the model client's job, and a missing value is the caller's to
 * default.
 */

/** The context window of `model` in a `GET /models` list, if the upstream reports one. */
export function contextWindowFromModelList(entries: readonly unknown[], model: string): number | undefined {
  const objects = entries.filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null);
  // A local server serving one model (llama.cpp, vLLM) often lists it under a path or alias that is not
  // the id Herald was configured with; its window is still the one that applies.
  const entry = objects.find((e) => e['id'] === model) ?? (objects.length === 1 ? objects[0] : undefined);
  if (!entry) return undefined;
  const meta = typeof entry['meta'] === 'object' && entry['meta'] !== null ? entry['meta'] : {};
  const candidates = [
    entry['context_length'],
    entry['max_model_len'],
    entry['max_context_length'],
    (meta as Record<string, unknown>)['n_ctx'],
    (meta as Record<string, unknown>)['n_ctx_train'],
  ];
  return candidates.find((v): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0);
}
