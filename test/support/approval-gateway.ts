/**
 * The common rig of the chat-platform approval tests: a temp HERALD_HOME whose workspace holds a
 * `build` directory (the scripted `rm -rf build` is the dangerous command), the scripted upstream,
 * the real Agent and GatewayRunner over one platform adapter built by the test against its fake, and
 * teardown in the order the platform clients need (gateway first, while the fake still answers).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../src/agent/index.ts';
import { configSchema, type HeraldConfig } from '../../src/config/index.ts';
import { type ChatPlatform, GatewayRunner } from '../../src/gateway/index.ts';
import { silentLogger } from '../../src/logger.ts';
import { createModelClient } from '../../src/model/index.ts';
import { openDatabase, SqlitePairingStore, SqliteSessionStore } from '../../src/store/index.ts';
import { createToolRegistry } from '../../src/tools/index.ts';
import { ScriptedUpstream } from './scripted-upstream.ts';

export interface ApprovalGatewayOptions {
  /** Raw `platforms:` config. */
  platforms: Record<string, unknown>;
  approvals?: Record<string, unknown>;
  platform: (config: HeraldConfig) => ChatPlatform;
  /** Closes the platform's fake, after the gateway stopped. */
  closeFake: () => Promise<void>;
}

export async function startApprovalGateway(
  t: { after: (fn: () => Promise<void>) => void },
  options: ApprovalGatewayOptions,
) {
  const home = mkdtempSync(join(tmpdir(), 'herald-approvals-'));
  mkdirSync(join(home, 'workspace', 'build'), { recursive: true });
  const upstream = await ScriptedUpstream.start();
  const config: HeraldConfig = {
    ...configSchema.parse({
      model: { base_url: upstream.url, api_key: 'test', model: 'test-model', max_retries: 0 },
      agent: { workspace: join(home, 'workspace') },
      approvals: options.approvals ?? {},
      platforms: options.platforms,
    }),
    home,
  };
  const logger = silentLogger();
  const db = openDatabase(join(home, 'herald.db'));
  const pairing = new SqlitePairingStore(db);
  const gateway = new GatewayRunner({
    config,
    agent: new Agent({
      model: createModelClient(config.model, { logger }),
      tools: createToolRegistry(config),
      config,
      logger,
    }),
    sessions: new SqliteSessionStore(db),
    platforms: [options.platform(config)],
    logger,
    pairing,
  });
  await gateway.start();
  t.after(async () => {
    await gateway.stop();
    db.close();
    await options.closeFake();
    await upstream.close();
    rmSync(home, { recursive: true, force: true });
  });
  return { home, upstream, gateway, pairing, config };
}

/** Scripts the dangerous turn: `rm -rf build` in the workspace, then `answer`. */
export function scriptRemoveBuild(upstream: ScriptedUpstream, answer = 'Cleaned up.'): void {
  upstream.enqueue(
    { toolCalls: [{ id: 'call_rm', name: 'terminal', arguments: { command: 'rm -rf build' } }] },
    { text: answer },
  );
}

/** Polls `predicate` (for conditions no fake signals), failing after a generous hang guard. */
export async function waitUntil(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
