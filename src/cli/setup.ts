/**
 * `herald setup`: an interactive wizard (@clack/prompts) that points Herald at a model — pick a
 * provider, confirm its base URL, give the API key if it needs one, choose the model id (offered from
 * the server's list when it answers) — then saves it (config.yaml + .env). It needs a terminal; the
 * non-interactive way is env vars or editing config.yaml.
 */
import * as prompts from '@clack/prompts';
import { heraldPaths, type LoadedConfig } from '../config/index.ts';
import { CliError } from './cli-error.ts';
import { listUpstreamModels } from './list-upstream-models.ts';
import { saveModelSettings } from './save-model-settings.ts';

interface Provider {
  label: string;
  baseUrl: string;
  needsKey: boolean;
  exampleModel: string;
  hint?: string;
}

const providers: Record<string, Provider> = {
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

export async function runSetup(loaded: LoadedConfig): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new CliError(
      'cancelled',
      'herald setup needs a terminal; set HERALD_BASE_URL, HERALD_API_KEY and HERALD_MODEL instead.',
    );
  }
  const paths = heraldPaths(loaded.config.home);
  prompts.intro('Herald setup');

  const providerId = answered(
    await prompts.select({
      message: 'Which model provider?',
      options: Object.entries(providers).map(([value, p]) => ({ value, label: p.label, hint: p.hint })),
    }),
  );
  const provider = providers[providerId]!;
  const baseUrl = answered(
    await prompts.text({
      message: 'Base URL (OpenAI-compatible, usually ending in /v1)',
      initialValue: provider.baseUrl || loaded.config.model.base_url || '',
      validate: (value) =>
        URL.canParse(value ?? '') ? undefined : 'Enter a URL such as http://localhost:8080/v1',
    }),
  ).trim();
  const apiKey = answered(
    await prompts.password({
      message: provider.needsKey ? 'API key' : 'API key (leave empty if the server needs none)',
      validate: (value) => (provider.needsKey && !value ? 'This provider needs an API key' : undefined),
    }),
  ).trim();

  const model = await chooseModel(baseUrl, apiKey, provider.exampleModel || loaded.config.model.model || '');
  saveModelSettings(paths, { baseUrl, model, apiKey });
  prompts.log.success(
    `Saved model settings to ${paths.configFile}${apiKey ? ` and the key to ${paths.envFile}` : ''}`,
  );
  prompts.outro('Next: `herald doctor` to check, `herald chat` to talk, `herald serve` to start the API.');
}

/** Offers the server's own model ids when it lists them; otherwise asks for one. */
async function chooseModel(baseUrl: string, apiKey: string, example: string): Promise<string> {
  const spin = prompts.spinner();
  spin.start('Asking the server for its models');
  let models: string[] = [];
  try {
    models = await listUpstreamModels(baseUrl, { apiKey: apiKey || undefined, timeoutMs: 5000 });
    spin.stop(`The server lists ${models.length} models`);
  } catch (error) {
    spin.stop(`Could not list models (${error instanceof Error ? error.message : String(error)})`);
  }
  const other = '\u0000other';
  if (models.length > 0 && models.length <= 50) {
    const picked = answered(
      await prompts.select({
        message: 'Model',
        options: [
          ...models.map((id) => ({ value: id, label: id })),
          { value: other, label: 'Another model id…' },
        ],
      }),
    );
    if (picked !== other) return picked;
  }
  return answered(
    await prompts.text({
      message: 'Model id',
      placeholder: example,
      defaultValue: example || undefined,
      validate: (value) => (value || example ? undefined : 'Enter the model id'),
    }),
  ).trim();
}

function answered<T>(value: T): Exclude<T, symbol> {
  if (prompts.isCancel(value)) {
    prompts.cancel('Setup cancelled; nothing was saved.');
    throw new CliError('cancelled', 'Setup cancelled.');
  }
  return value as Exclude<T, symbol>;
}
