/**
 * Chat platforms on replicas sharing one PostgreSQL store: two GatewayRunners in one process (each with
 * its own store pools and instance id) and in-test chat platforms. Exactly one replica connects a
 * long-polling platform while the other stands by naming the leader; the standby takes over when the
 * leader stops (released lease), and a leader whose lease was taken disconnects. (Takeover after a
 * leader's lease expired, with a killed process, is in test/api-replicas.test.ts.) A platform serving every replica (Telegram webhooks) connects on both.
 */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { AgentRunner } from '../src/agent/index.ts';
import { configSchema } from '../src/config/index.ts';
import {
  type ChatPlatform,
  GatewayRunner,
  type InboundMessage,
  type PlatformState,
  type SentMessage,
} from '../src/gateway/index.ts';
import { silentLogger } from '../src/logger.ts';
import { openStores, PostgresPlatformLeases, type Stores } from '../src/store/index.ts';
import { freshDatabaseUrl, postgresSkipReason } from './support/postgres.ts';

const LEASE_MS = 1_500;
/** Hang guard for a takeover: a lease plus a few claim intervals, generously. */
const TAKEOVER_GUARD_MS = 15_000;

/** A chat platform that only records whether it is connected. */
class PollingChat implements ChatPlatform {
  readonly name: ChatPlatform['name'];
  readonly everyReplica?: boolean;
  readonly limits = {
    maxMessageLength: 4096,
    countLength: (t: string) => t.length,
    defaultEditIntervalMs: 10,
  };
  connected = false;
  connects = 0;

  constructor(name: ChatPlatform['name'], options: { everyReplica?: boolean } = {}) {
    this.name = name;
    if (options.everyReplica) this.everyReplica = true;
  }
  onMessage(_handler: (message: InboundMessage) => void) {}
  async start() {
    this.connects++;
    this.connected = true;
  }
  async stop() {
    this.connected = false;
  }
  async send(): Promise<SentMessage> {
    return { id: '1' };
  }
  async edit() {}
  async delete() {}
  async sendTyping() {}
}

const idleAgent: AgentRunner = {
  // biome-ignore lint/correctness/useYield: no chat message reaches it here
  async *run() {
    return;
  },
};

interface Replica {
  stores: Stores;
  gateway: GatewayRunner;
  telegram: PollingChat;
  slack: PollingChat;
  webhook: PollingChat;
  stopped: boolean;
}

async function until(what: string, predicate: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + TAKEOVER_GUARD_MS;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function stateOf(replica: Replica, name: string): PlatformState | undefined {
  return replica.gateway.platformStates().find((state) => state.name === name);
}

describe('chat platforms on replicas sharing one PostgreSQL store', { skip: postgresSkipReason() }, () => {
  let url: string;
  const replicas: Replica[] = [];

  async function startReplica(): Promise<Replica> {
    const stores = await openStores({
      sqliteFile: join(tmpdir(), 'unused-with-a-url.db'),
      url,
      poolSize: 2,
      leaseMs: LEASE_MS,
      maxTurnHolders: 2,
    });
    const telegram = new PollingChat('telegram');
    const slack = new PollingChat('slack');
    const webhook = new PollingChat('discord', { everyReplica: true });
    const gateway = new GatewayRunner({
      config: { ...configSchema.parse({}), home: '/tmp/herald-unused' },
      agent: idleAgent,
      sessions: stores.sessions,
      platforms: [telegram, slack, webhook],
      logger: silentLogger(),
      leases: stores.shared?.platformLeases,
    });
    await gateway.start();
    const replica = { stores, gateway, telegram, slack, webhook, stopped: false };
    replicas.push(replica);
    return replica;
  }

  async function stopReplica(replica: Replica): Promise<void> {
    if (replica.stopped) return;
    replica.stopped = true;
    await replica.gateway.stop();
    await replica.stores.close();
  }

  before(async () => {
    url = await freshDatabaseUrl();
  });

  after(async () => {
    for (const replica of replicas) await stopReplica(replica);
  });

  it('connects each polling platform on one replica, and the other takes over when it stops', async () => {
    const a = await startReplica();
    const b = await startReplica();
    await until('the leader to connect', () => a.telegram.connected && a.slack.connected);
    assert.equal(b.telegram.connects + b.slack.connects, 0);
    assert.deepEqual(stateOf(b, 'telegram'), {
      name: 'telegram',
      state: 'standby',
      failures: 0,
      leader: a.stores.shared?.instanceId,
    });
    assert.equal(stateOf(a, 'telegram')?.state, 'connected');
    // A webhook-mode platform is served by every replica.
    assert.ok(a.webhook.connected && b.webhook.connected);

    await stopReplica(a);
    await until('the standby to connect', () => b.telegram.connected && b.slack.connected);
    assert.equal(stateOf(b, 'slack')?.state, 'connected');
    await stopReplica(b);
  });

  it('disconnects a leader whose lease another replica took, and connects it there', async () => {
    const a = await startReplica();
    await until('the first replica to connect', () => a.telegram.connected);
    const b = await startReplica();
    assert.equal(stateOf(b, 'telegram')?.state, 'standby');
    // What B's claim does once A's lease has expired (A paused, or cut off from the database).
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query("UPDATE platform_leases SET instance_id = $1 WHERE platform = 'telegram'", [
        b.stores.shared?.instanceId,
      ]);
    } finally {
      await admin.end();
    }
    await until('the takeover', () => b.telegram.connected && !a.telegram.connected);
    assert.equal(stateOf(a, 'telegram')?.state, 'standby');
    assert.equal(stateOf(a, 'telegram')?.leader, b.stores.shared?.instanceId);
    // Slack's lease was untouched: it stays where it was.
    assert.ok(a.slack.connected && !b.slack.connected);
    await stopReplica(a);
    await stopReplica(b);
  });

  it('lets exactly one of several replicas claiming at once win a free lease', async () => {
    const pool = new pg.Pool({ connectionString: url, max: 8 });
    try {
      const leases = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          PostgresPlatformLeases.open(pool, { holder: `replica_${i}`, leaseMs: 30_000 }),
        ),
      );
      const holders = await Promise.all(leases.map((lease) => lease.claim('whatsapp')));
      assert.equal(new Set(holders).size, 1, `every claim names the same holder: ${holders.join(', ')}`);
      const winner = leases.find((lease) => lease.holder === holders[0])!;
      assert.equal(await winner.claim('whatsapp'), winner.holder, 'the holder renews its own lease');
      await winner.release('whatsapp');
      const loser = leases.find((lease) => lease !== winner)!;
      assert.equal(await loser.claim('whatsapp'), loser.holder, 'a released lease is free at once');
    } finally {
      await pool.end();
    }
  });
});
