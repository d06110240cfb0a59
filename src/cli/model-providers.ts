/**
 * The model providers `herald setup` knows by name: label, OpenAI-compatible base URL, whether a key is
 * needed and an example model id. Any other OpenAI-compatible server works through `custom` (a base
 * URL of the user's choosing). It is a table; asking and saving happen in the setup modules.
 */
export interface ModelProvider {
  label: string;
  baseUrl: string;
  needsKey: boolean;
  exampleModel: string;
  hint?: string;
}

export const modelProviders: Readonly<Record<string, ModelProvider>> = {
  openrouter: {
    label: 'OpenRouter',
    baseUrl: 'https://openrouter.ai/api/v1',
    needsKey: true,
    exampleModel: 'anthropic/claude-sonnet-4',
    hint: 'hundreds of models, one key',
  },
  openai: { label: 'OpenAI', baseUrl: 'https://api.openai.com/v1', needsKey: true, exampleModel: 'gpt-4.1' },
  ollama: {
    label: 'Ollama',
    baseUrl: 'http://localhost:11434/v1',
    needsKey: false,
    exampleModel: 'llama3.1',
    hint: 'local',
  },
  llamacpp: {
    label: 'llama.cpp (llama-server)',
    baseUrl: 'http://localhost:8080/v1',
    needsKey: false,
    exampleModel: 'default',
    hint: 'local',
  },
  vllm: {
    label: 'vLLM',
    baseUrl: 'http://localhost:8000/v1',
    needsKey: false,
    exampleModel: 'Qwen/Qwen3-8B',
    hint: 'local',
  },
  lmstudio: {
    label: 'LM Studio',
    baseUrl: 'http://localhost:1234/v1',
    needsKey: false,
    exampleModel: 'qwen3-8b',
    hint: 'local',
  },
  custom: { label: 'Other OpenAI-compatible server', baseUrl: '', needsKey: false, exampleModel: '' },
};
