/**
 * What `herald setup` tells the user once it has saved: where things went, the generated API key (the
 * only time it is shown), the connection to paste into Open WebUI, a warning when the API listens
 * beyond this machine, and what to run next. It formats; it saves nothing and asks nothing.
 */
import { randomBytes } from 'node:crypto';
import { type HeraldConfig, heraldPaths } from '../config/index.ts';
import { isLoopbackBind } from '../gateway/platforms/api-server/index.ts';

/** A fresh API server key: 256 random bits, URL-safe, with a prefix that says what it is. */
export function generateApiServerKey(): string {
  return `sk-herald-${randomBytes(32).toString('base64url')}`;
}

/** The warning shown whenever the API is bound beyond loopback. */
export function exposedBindWarning(host: string): string {
  return `The API will listen on ${host}, reachable from other machines: every client needs the key, and whoever has it can run the agent and its tools here. Beyond a trusted network, put it behind HTTPS (a reverse proxy).`;
}

export interface SummaryInput {
  config: HeraldConfig;
  /** A key this run generated: printed once, here. */
  generatedKey?: string;
  /** WhatsApp was chosen: it links by QR code, outside setup. */
  whatsapp?: boolean;
}

export function setupSummary({ config, generatedKey, whatsapp }: SummaryInput): string[] {
  const paths = heraldPaths(config.home);
  const lines = [`Saved to ${paths.configFile} (secrets in ${paths.envFile}, mode 600).`];
  const api = config.api_server;
  if (api.enabled) {
    if (generatedKey) {
      lines.push(`API key (shown once; stored in .env as API_SERVER_KEY): ${generatedKey}`);
    }
    const host = api.host === '0.0.0.0' || api.host === '::' ? '<this machine’s address>' : api.host;
    const keyText = generatedKey ? 'the key above' : api.keys.length > 0 ? 'your API_SERVER_KEY' : 'any key';
    lines.push(
      `Open WebUI: Admin Panel → Settings → Connections → OpenAI API → add URL http://${host}:${api.port}/v1 with ${keyText}.`,
    );
    if (!isLoopbackBind(api.host)) lines.push(exposedBindWarning(api.host));
  } else {
    lines.push('The API server is off (api_server.enabled: false).');
  }
  if (whatsapp) lines.push('WhatsApp: run `herald whatsapp link` and scan the QR code with the phone.');
  lines.push('Next: `herald doctor` checks everything, `herald serve` starts the gateway.');
  return lines;
}
