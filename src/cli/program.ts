/**
 * The `herald` command tree (commander): `serve`, `chat`, `setup`, `config show|path`, `mcp list|add|serve`, `doctor`,
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

  const mcp = program
    .command('mcp')
    .description('MCP: list and add tool servers, or serve the agent to MCP clients (docs/mcp.md)');
  mcp
    .command('list')
    .description('connect to every configured MCP server and show its state and tools')
    .action(async () => {
      const { listMcpServers } = await import('./mcp-command.ts');
      await listMcpServers(await load(), process.stdout);
    });
  mcp
    .command('serve')
    .description("serve Herald's agent to an MCP client over stdio (send_message, list/read_conversations)")
    .action(async (_options, command: Command) => {
      const loaded = await load();
      const { serveMcpOverStdio } = await import('./mcp-serve-command.ts');
      await serveMcpOverStdio(loaded, globalOptions(command));
    });
  mcp
    .command('add')
    .description('add an MCP server to config.yaml: `add <name> -- <command…>` or `add <name> --url <url>`')
    .argument('<name>', 'the server name; its tools are offered as <name>__<tool>')
    .argument('[command...]', 'the command starting a stdio server, after --')
    .option('--url <url>', 'a remote server (Streamable HTTP, SSE fallback) instead of a command')
    .option('-e, --env <NAME=value>', 'environment variable for a stdio server (repeatable)', collect, [])
    .option('-H, --header <Name: value>', 'HTTP header for a remote server (repeatable)', collect, [])
    .action(
      async (name: string, command: string[], options: { url?: string; env: string[]; header: string[] }) => {
        const { addMcpServer, parseAssignments } = await import('./mcp-command.ts');
        const { heraldPaths, resolveHome } = await import('../config/index.ts');
        const paths = heraldPaths(resolveHome());
        addMcpServer(paths, name, {
          ...(command.length > 0 ? { command } : {}),
          ...(options.url ? { url: options.url } : {}),
          env: parseAssignments(options.env, '--env'),
          headers: parseAssignments(options.header, '--header', ':'),
        });
        process.stdout.write(`Added mcp_servers.${name} to ${paths.configFile}.\n`);
      },
    );

  program
    .command('doctor')
    .description('check the config, the model, the upstream and the API port')
    .action(async () => {
      const { runDoctor } = await import('./doctor.ts');
      await runDoctor({ output: process.stdout });
    });

  return program;
}

/** Commander's accumulator for repeatable options. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
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
