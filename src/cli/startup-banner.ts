/**
 * The one human-readable block `herald serve` writes to stderr once it is up: where the API, the web
 * chat and the status page are, whether they need a key, which chat platforms are connecting, which
 * model answers — or, without one, what to do about it. Logs stay structured; this is the only prose serve prints.
 */
import { MODEL_NOT_CONFIGURED_MESSAGE } from '../model/index.ts';

export interface BannerFacts {
  version: string;
  /** `http://host:port` of the API server; undefined when it is disabled. */
  apiUrl: string | undefined;
  keyed: boolean;
  /** `api_server.web_chat`: the browser chat is served at `/`. */
  webChat: boolean;
  metrics: { enabled: boolean; requireKey: boolean };
  /** Chat platforms being connected (the gateway retries failures in the background). */
  platforms: string[];
  /** `model at base URL`, or undefined when no model is configured. */
  model: string | undefined;
}

export function startupBanner(facts: BannerFacts): string {
  const lines = [`herald ${facts.version}`];
  if (facts.apiUrl) {
    const access = facts.keyed ? 'API key required' : 'no API key: this machine only';
    lines.push(`  API server listening on ${facts.apiUrl}/v1 (${access})`);
    if (facts.webChat) {
      lines.push(`  Web chat: ${facts.apiUrl}/${facts.keyed ? ' (asks for the API key)' : ''}`);
    }
    lines.push(`  Status page: ${facts.apiUrl}/status · readiness: ${facts.apiUrl}/health/ready`);
    if (facts.metrics.enabled) {
      const keyed = facts.keyed && facts.metrics.requireKey ? ' (API key required)' : '';
      lines.push(`  Metrics: ${facts.apiUrl}/metrics${keyed}`);
    }
  } else {
    lines.push('  API server: disabled (api_server.enabled: false)');
  }
  lines.push(
    `  Chat platforms: ${facts.platforms.length > 0 ? `${facts.platforms.join(', ')} (connecting)` : 'none configured'}`,
  );
  lines.push(facts.model ? `  Model: ${facts.model}` : `  Model: none. ${MODEL_NOT_CONFIGURED_MESSAGE}`);
  if (!facts.apiUrl && facts.platforms.length === 0) {
    lines.push('  Nothing to serve: enable the API server or configure a chat platform (herald setup).');
  }
  return `${lines.join('\n')}\n`;
}
