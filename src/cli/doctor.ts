/**
 * `herald doctor`: checks what a working Herald needs and prints one line per check — the config is
 * valid, a model is configured, the upstream answers GET /models with the key, the API port is free,
 * each MCP server connects.
 * It changes nothing. Any failed check makes the command fail (exit 1) after all checks have run.
 */
import { createServer } from 'node:net';
import type { Writable } from 'node:stream';
import { ConfigError, heraldPaths, type LoadedConfig, loadConfig } from '../config/index.ts';
import { DEFAULT_BASE_URL, isModelConfigured, MODEL_NOT_CONFIGURED_MESSAGE } from '../model/index.ts';
import { CliError } from './cli-error.ts';
import { listUpstreamModels } from './list-upstream-models.ts';
import { checkMcpServers } from './mcp-doctor.ts';

export interface DoctorOptions {
  env?: Record<string, string | undefined>;
  output: Writable;
  /** Timeout of the upstream check (default 5000 ms). */
  upstreamTimeoutMs?: number;
}

export async function runDoctor(options: DoctorOptions): Promise<void> {
  const { output } = options;
  let failures = 0;
  const report = (ok: boolean, line: string) => {
    if (!ok) failures++;
    output.write(`${ok ? '✓' : '✗'} ${line}\n`);
  };

  let loaded: LoadedConfig;
  try {
    loaded = loadConfig({ env: options.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    report(false, `config: ${error.message}`);
    throw new CliError('doctor_failed', 'The config is invalid; fix it and run `herald doctor` again.');
  }
  const { config } = loaded;
  report(true, `config: ${heraldPaths(config.home).configFile} is valid`);

  const { model, api_key: apiKey } = config.model;
  if (isModelConfigured(config.model) && model) {
    // The model client's own default when only a key is set.
    const baseUrl = config.model.base_url ?? DEFAULT_BASE_URL;
    report(true, `model: ${model} at ${baseUrl}`);
    try {
      const models = await listUpstreamModels(baseUrl, { apiKey, timeoutMs: options.upstreamTimeoutMs });
      const listed =
        models.length === 0 || models.includes(model) ? '' : ` (note: ${model} is not in its model list)`;
      report(true, `upstream: reachable, ${models.length} models listed${listed}`);
    } catch (error) {
      report(false, `upstream: ${error instanceof Error ? error.message : String(error)}`);
    }
  } else {
    report(false, `model: ${MODEL_NOT_CONFIGURED_MESSAGE}`);
  }

  if (config.api_server.enabled) {
    const { host, port } = config.api_server;
    const problem = await portProblem(host, port);
    report(
      !problem,
      problem ? `api server: ${host}:${port} ${problem}` : `api server: ${host}:${port} is free`,
    );
  } else {
    report(true, 'api server: disabled');
  }

  await checkMcpServers(config, report);

  if (failures > 0)
    throw new CliError('doctor_failed', `${failures} check${failures === 1 ? '' : 's'} failed.`);
}

/** Undefined when `host:port` can be bound, else why not. */
function portProblem(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      resolve(
        error.code === 'EADDRINUSE'
          ? 'is in use (is `herald serve` already running?)'
          : `cannot be bound (${error.code ?? error.message})`,
      );
    });
    server.listen(port, host, () => server.close(() => resolve(undefined)));
  });
}
