/**
 * Recognises the gateway's chat commands in a message: `/new` (fresh conversation), `/stop` (abort the
 * running reply), `/status` (model, toolset, conversation size), plus `/start` and `/help`, which
 * Telegram users send first. A `/command@botname` suffix is accepted. Anything else is not a command
 * and goes to the agent. It does not execute commands; the GatewayRunner does.
 */

export type GatewayCommand = 'new' | 'stop' | 'status' | 'start' | 'help';

const commands = new Set<string>(['new', 'stop', 'status', 'start', 'help']);

export function parseGatewayCommand(text: string): GatewayCommand | undefined {
  const match = /^\/([a-z]+)(?:@\S+)?(?:\s|$)/i.exec(text.trim());
  const name = match?.[1]?.toLowerCase();
  return name && commands.has(name) ? (name as GatewayCommand) : undefined;
}

export const helpText =
  'I am Herald, an AI assistant. Send me a message to start.\n\n' +
  '/new — start a fresh conversation\n/stop — stop the reply in progress\n/status — model, toolset and conversation size';
