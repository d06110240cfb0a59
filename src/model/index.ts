/**
 * Front door of the model subsystem: the `ModelClient` contract, its errors, and a factory for the
 * OpenAI-compatible implementation. Other subsystems import from here only.
 */
import { type ModelConfig, OpenAIModelClient, type OpenAIModelClientOptions } from './openai-model-client.ts';
import type { ModelClient } from './types.ts';

export * from './errors.ts';
export {
  DEFAULT_BASE_URL,
  isModelConfigured,
  MODEL_NOT_CONFIGURED_MESSAGE,
  type ModelConfig,
  type OpenAIModelClientOptions,
} from './openai-model-client.ts';
export { estimateMessageTokens } from './token-estimator.ts';
export * from './types.ts';
export { displayUrl } from './upstream-errors.ts';

/**
 * Builds the model client from the `model:` config. An unconfigured model still yields a client, whose
 * every call fails with `upstream_not_configured`, so the gateway can start and say how to fix it.
 */
export function createModelClient(config: ModelConfig, options: OpenAIModelClientOptions = {}): ModelClient {
  return new OpenAIModelClient(config, options);
}
