/**
 * The `herald` command tree (commander): `serve`, `chat`, `setup`, `config show|path`, `pairing`, `doctor`,
 * `--version`, `--help` and the global `--debug`. Each command loads the config once and hands off to
 * its module; heavy parts (the agent, the gateway, prompts) are imported only by the commands that
 * need them, so `--version` and `config show` start fast. It throws; main.ts reports.
 */
import { Command } from 'commander';
import type { LoadedConfig } from '../config/index.ts';
import { packageVersion } from './package-version.ts';

export function buildProgram(): Command {
  const program = new Command('herald')
    .description('One tool-using AI agent behind an OpenAI-compatible API and chat platforms.')
    .version(packageVersion(), '-v, --version', 'print the version')
    .option('--debug', 'verbose logs and stack traces on errors')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('serve')
    .description('start the gateway: the API server and every configured chat platform')
    .action(async (_options, command: Command) => {
      const { debug } = globalOptions(command);
      const loaded = await load();
      const { serve } = await import('./serve.ts');
      await serve(loaded, { debug });
    });

  program
    .command('chat')
    .description('talk to the agent in the terminal (interactive, or one-shot with -q)')
    .option('-q, --query <text>', 'ask one question and print the answer ("-" reads it from stdin)')
    .action(async (options: { query?: string }, command: Command) => {
      const loaded = await load();
      const { runChat } = await import('./chat-command.ts');
      await runChat(loaded, { query: options.query, debug: globalOptions(command).debug });
    });

  program
    .command('setup')
    .description('point Herald at a model (OpenRouter, OpenAI, Ollama, llama.cpp, vLLM, LM Studio, …)')
    .action(async () => {
      const { runSetup } = await import('./setup.ts');
      await runSetup(await load());
    });

  const config = program.command('config').description('show the effective configuration or where it lives');
  config
    .command('show')
    .description('print the effective config, secrets masked, with the source of each value')
    .action(async () => {
      const { formatConfig } = await import('../config/index.ts');
      process.stdout.write(formatConfig(await load()));
    });
  config
    .command('path')
    .description('print the path of config.yaml')
    .action(async () => {
      const { heraldPaths, resolveHome } = await import('../config/index.ts');
      process.stdout.write(`${heraldPaths(resolveHome()).configFile}\n`);
    });

  const pairing = program
    .command('pairing')
    .description('let strangers who messaged a chat bot in (platforms.*.dm_policy: pairing)');
  const pairingAction = (action: 'list' | 'approve' | 'deny') => async (code?: string) => {
    const { runPairing } = await import('./pairing-command.ts');
    await runPairing((await load()).config, { action, code, output: process.stdout });
  };
  pairing.command('list').description('show pending pairing codes').action(pairingAction('list'));
  pairing
    .command('approve <code>')
    .description('add the person behind a code to the allowed users')
    .action(pairingAction('approve'));
  pairing
    .command('deny <code>')
    .description('refuse a code (its sender gets no answer until it expires)')
    .action(pairingAction('deny'));

  program
    .command('doctor')
    .description('check the config, the model, the upstream and the API port')
    .action(async () => {
      const { runDoctor } = await import('./doctor.ts');
      await runDoctor({ output: process.stdout });
    });

  return program;
}

/** Loads the config, telling the user (on stderr, so stdout stays clean) when a first run created it. */
async function load(): Promise<LoadedConfig> {
  // Imported here, not at the top, so `--version` and `--help` do not pay for zod and yaml.
  const { heraldPaths, loadConfig } = await import('../config/index.ts');
  const loaded = loadConfig();
  if (loaded.created) {
    process.stderr.write(`Created ${heraldPaths(loaded.config.home).configFile} with the defaults.\n`);
  }
  return loaded;
}

function globalOptions(command: Command): { debug: boolean } {
  return { debug: command.optsWithGlobals<{ debug?: boolean }>().debug === true };
}
