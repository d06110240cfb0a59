/**
 * The `herald` command tree (commander): `serve`, `chat`, `setup`, `config show|path`, `mcp list|add|serve`,
 * `pairing`, `store migrate`, `doctor`, `whatsapp link|unlink`,
 * `--version`, `--help` and the global `--debug`. Each command loads the config once and hands off to
 * its module; heavy parts (the agent, the gateway, prompts) are imported only by the commands that
 * need them, so `--version` and `config show` start fast. It throws; main.ts reports.
 */
import { Command } from 'commander';
import type { LoadedConfig } from '../config/index.ts';
import { packageVersion } from './package-version.ts';
import type { SetupFlags } from './setup-flags.ts';

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
    .description('configure the model, the API server, chat platforms and tools (interactive, or with flags)')
    .option('--non-interactive', 'take every setting from flags, ask nothing (scripts, containers)')
    .option('--all', 'on an upgraded config, go through every step, not only what is new')
    .option('--provider <id>', 'openrouter, openai, ollama, llamacpp, vllm, lmstudio or custom')
    .option('--base-url <url>', "upstream base URL (default: the provider's)")
    .option('--api-key <key>', 'upstream API key (saved to .env as HERALD_API_KEY)')
    .option('--model <id>', 'upstream model id')
    .option('--api-server', 'serve the OpenAI-compatible API')
    .option('--no-api-server', 'do not serve the API')
    .option('--api-server-host <host>', 'address the API listens on')
    .option('--api-server-port <port>', 'port the API listens on')
    .option('--api-server-key <key>', '`generate` (printed once), `keep`, `none`, or the key itself')
    .option('--api-tools <policy>', 'tools API requests may use: full, read-only or none')
    .option('--run-as <user>', 'user tool commands run as: auto, off, a name, uid or uid:gid')
    .option('--telegram-token <token>', 'Telegram bot token (checked with getMe)')
    .option('--telegram-allowed-users <ids>', 'comma-separated Telegram user ids')
    .option('--discord-token <token>', 'Discord bot token (checked with /users/@me)')
    .option('--discord-allowed-users <ids>', 'comma-separated Discord user ids')
    .option('--slack-bot-token <token>', 'Slack bot token, xoxb-… (checked with auth.test)')
    .option('--slack-app-token <token>', 'Slack app-level token for Socket Mode, xapp-…')
    .option('--slack-allowed-users <ids>', 'comma-separated Slack user ids')
    .option('--whatsapp', 'remind me to link WhatsApp (`herald whatsapp link`)')
    .option('--matrix-homeserver <url>', 'Matrix homeserver URL')
    .option('--matrix-token <token>', 'Matrix bot access token (checked with whoami)')
    .option('--matrix-user-id <id>', 'Matrix bot user id, with --matrix-password instead of a token')
    .option('--matrix-password <password>', 'Matrix bot password (traded for an access token when checked)')
    .option('--matrix-allowed-users <ids>', 'comma-separated Matrix user ids (@alice:example.org)')
    .option('--mattermost-url <url>', 'Mattermost server URL')
    .option('--mattermost-token <token>', 'Mattermost bot token (checked with users/me)')
    .option('--mattermost-allowed-users <ids>', 'comma-separated Mattermost user ids')
    .option('--email-address <address>', "the bot's email address (From of replies)")
    .option('--email-imap-host <host>', 'IMAP server (checked with a login)')
    .option('--email-imap-port <port>', 'IMAP port (993 with TLS, 143 with STARTTLS)')
    .option('--email-imap-user <user>', 'IMAP login')
    .option('--email-imap-password <password>', 'IMAP password (saved to .env)')
    .option('--email-imap-tls', 'IMAP with implicit TLS (the default)')
    .option('--no-email-imap-tls', 'IMAP plain, upgraded by STARTTLS when offered')
    .option('--email-smtp-host <host>', 'SMTP server (checked with verify)')
    .option('--email-smtp-port <port>', 'SMTP port (465 with TLS, 587 with STARTTLS)')
    .option('--email-smtp-user <user>', 'SMTP login')
    .option('--email-smtp-password <password>', 'SMTP password (saved to .env)')
    .option('--email-smtp-tls', 'SMTP with implicit TLS (the default)')
    .option('--no-email-smtp-tls', 'SMTP plain, upgraded by STARTTLS when offered')
    .option('--email-allowed-senders <list>', 'comma-separated addresses or @domains whose mail is answered')
    .option('--dingtalk-client-id <id>', 'DingTalk app Client ID (AppKey)')
    .option('--dingtalk-client-secret <secret>', 'DingTalk app Client Secret (checked with a token fetch)')
    .option('--dingtalk-allowed-users <ids>', 'comma-separated DingTalk staff ids')
    .option('--no-check-tokens', 'save platform tokens and logins without checking them live')
    .action(async (options: { nonInteractive?: boolean; all?: boolean } & SetupFlags) => {
      const loaded = await load();
      if (options.nonInteractive) {
        const { runSetupFromFlags } = await import('./setup-flags.ts');
        await runSetupFromFlags(loaded, options, { output: process.stdout });
        return;
      }
      const { runSetup } = await import('./setup.ts');
      await runSetup(loaded, { all: options.all });
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
  const whatsapp = program.command('whatsapp').description('link Herald to a WhatsApp account, or unlink it');
  whatsapp
    .command('link')
    .description('link as a WhatsApp linked device: scan a QR code, or enter a pairing code with --phone')
    .option('--phone <number>', 'your number with country code; shows a pairing code instead of a QR code')
    .action(async (options: { phone?: string }) => {
      const { config } = await load();
      const { linkWhatsApp } = await import('../gateway/platforms/whatsapp/index.ts');
      await linkWhatsApp({ home: config.home, phone: options.phone, output: process.stdout });
    });
  whatsapp
    .command('unlink')
    .description('log the linked device out of WhatsApp and delete its credentials')
    .action(async () => {
      const { config } = await load();
      const { unlinkWhatsApp } = await import('../gateway/platforms/whatsapp/index.ts');
      await unlinkWhatsApp({ home: config.home, output: process.stdout });
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

  const store = program
    .command('store')
    .description('the store: SQLite in HERALD_HOME or the shared PostgreSQL of store.url (docs/scaling.md)');
  store
    .command('migrate')
    .description("apply the store's schema migrations and exit")
    .action(async (_options, command: Command) => {
      const loaded = await load();
      const { commandLogger } = await import('../logger.ts');
      const { migrateStore } = await import('./store-command.ts');
      const logger = commandLogger(loaded.config.logging, globalOptions(command));
      await migrateStore(loaded, logger, process.stdout);
    });
  store
    .command('copy')
    .description('copy a single-node SQLite store into PostgreSQL (skips what is there already)')
    .option('--from <sqlite:file>', 'the SQLite store to copy (default: HERALD_HOME/herald.db)')
    .option('--to <postgres-url>', 'the PostgreSQL database to copy into (default: store.url)')
    .option('--force', 'replace objects the target holds with different content')
    .action(async (options: { from?: string; to?: string; force?: boolean }, command: Command) => {
      const loaded = await load();
      const { commandLogger } = await import('../logger.ts');
      const { copyStore } = await import('./store-command.ts');
      const logger = commandLogger(loaded.config.logging, globalOptions(command));
      await copyStore(loaded.config, logger, options, process.stdout);
    });

  program
    .command('doctor')
    .description(
      'check the config, the model and its tool calling, the API port, the store and the platforms',
    )
    .option('--no-probe', 'skip the tool-call probe (one tiny request to the model)')
    .action(async (options: { probe?: boolean }) => {
      const { runDoctor } = await import('./doctor.ts');
      await runDoctor({ output: process.stdout, probe: options.probe });
    });

  return program;
}

/** Commander's accumulator for repeatable options. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Loads the config, telling the user (on stderr, so stdout stays clean) when a first run created it
 * and what its upgrade changed.
 */
async function load(): Promise<LoadedConfig> {
  // Imported here, not at the top, so `--version` and `--help` do not pay for zod and yaml.
  const { heraldPaths, loadConfig } = await import('../config/index.ts');
  const loaded = loadConfig();
  if (loaded.created) {
    process.stderr.write(`Created ${heraldPaths(loaded.config.home).configFile} with the defaults.\n`);
  }
  for (const warning of loaded.warnings) process.stderr.write(`${warning}\n`);
  return loaded;
}

function globalOptions(command: Command): { debug: boolean } {
  return { debug: command.optsWithGlobals<{ debug?: boolean }>().debug === true };
}
