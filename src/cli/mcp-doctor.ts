/**
 * The `herald doctor` check of `mcp_servers:`: connects to every configured server as `herald serve`
 * would and reports one line per server (ready with its tool count, disabled, or why it failed). A
 * separate function so the doctor command only has to call it with its `report` callback. Like
 * `herald chat`, it sets up tool isolation first (HERALD_HOME modes), so servers run as under serve.
 */
import type { HeraldConfig } from '../config/index.ts';
import { silentLogger } from '../logger.ts';
import { buildToolRegistry } from './compose.ts';

export async function checkMcpServers(
  config: HeraldConfig,
  report: (ok: boolean, line: string) => void,
): Promise<void> {
  if (Object.keys(config.mcp_servers).length === 0) return;
  const { mcp } = buildToolRegistry(config, silentLogger(), { interactive: true });
  try {
    await mcp.ready();
    for (const status of mcp.status()) {
      if (status.state === 'ready') {
        report(true, `mcp ${status.name}: ready (${status.transport}), ${status.tools.length} tools`);
      } else if (status.state === 'disabled') {
        report(true, `mcp ${status.name}: disabled`);
      } else {
        report(false, `mcp ${status.name}: ${status.error ?? status.state}`);
      }
    }
  } finally {
    await mcp.stop();
  }
}
