/**
 * Several real `herald serve` processes (bin/herald.js) on one PostgreSQL database, each with its own
 * HERALD_HOME and port, behind a round-robin loopback balancer, driven with the official SDK as a
 * client of a scaled-out deployment would be: `previous_response_id` chains alternate replicas, a named
 * conversation takes concurrent turns in order, an Idempotency-Key retry on the other replica replays
 * the first result; a Telegram bot (the local fake) is polled by exactly one replica and moves to the
 * other within the lease once its leader is killed with SIGKILL; and a response whose replica is killed
 * mid-stream becomes `incomplete` (interrupted) once that replica's lease expired. Leases are 3 s here.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { CONFIG_VERSION } from '../src/config/index.ts';
import type { StatusReport } from '../src/observability/index.ts';
import { FakeTelegramApi } from './support/fake-telegram-api.ts';
import { freshDatabaseUrl, postgresSkipReason } from './support/postgres.ts';
import { RoundRobinProxy } from './support/round-robin-proxy.ts';
import { echoResponder, ScriptedUpstream, userTexts } from './support/scripted-upstream.ts';

const herald = new URL('../bin/herald.js', import.meta.url).pathname;
const LEASE_S = 3;
/** Hang guard for anything that waits on a lease: the lease plus start-up and claim intervals, generously. */
const LEASE_GUARD_MS = 20_000;
const TELEGRAM_USER = 42;

/** One `herald serve` process. */
class Replica {
  readonly name: string;
  readonly home: string;
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<void>;
  stderr = '';
  url = '';

  constructor(name: string, env: Record<string, string>, config: string) {
    this.name = name;
    this.home = mkdtempSync(join(tmpdir(), `herald-replica-${name}-`));
    writeFileSync(join(this.home, 'config.yaml'), config);
    this.child = spawn(process.execPath, [herald, 'serve'], {
      env: { PATH: process.env['PATH'] ?? '', ...env, HOME: this.home, HERALD_HOME: this.home },
    });
    this.child.stdout.resume();
    this.child.stderr.on('data', (part: Buffer) => {
      this.stderr += part.toString();
    });
    this.child.stdin.end();
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  /** Resolves once the API listens (the startup banner names its URL). */
  async listening(): Promise<string> {
    const deadline = Date.now() + LEASE_GUARD_MS;
    for (;;) {
      const url = /API server listening on (\S+)\/v1/.exec(this.stderr)?.[1];
      if (url) {
        this.url = url;
        return url;
      }
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`replica ${this.name} did not start:\n${this.stderr}`);
      }
      await sleep(20);
    }
  }

  async status(): Promise<StatusReport> {
    const res = await fetch(`${this.url}/status.json`);
    return (await res.json()) as StatusReport;
  }

  async telegramState(): Promise<StatusReport['platforms'][number] | undefined> {
    return (await this.status()).platforms.find((platform) => platform.name === 'telegram');
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }

  cleanUp(): void {
    rmSync(this.home, { recursive: true, force: true });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + LEASE_GUARD_MS;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('herald serve replicas on one PostgreSQL database', { skip: postgresSkipReason() }, () => {
  let url: string;
  let upstream: ScriptedUpstream;
  let telegram: FakeTelegramApi;
  let proxy: RoundRobinProxy;
  let client: OpenAI;
  const replicas: Replica[] = [];

  async function startReplica(name: string): Promise<Replica> {
    const config = [
      `config_version: ${CONFIG_VERSION}`,
      'api_server:\n  port: 0\n  shutdown_grace_s: 1',
      'gateway:\n  shutdown_grace_s: 1',
      `store:\n  url: ${url}\n  lease_s: ${LEASE_S}\n  pool_size: 4`,
      `platforms:\n  telegram:\n    api_root: ${telegram.apiRoot}/${name}\n    allowed_users: [${TELEGRAM_USER}]`,
      'logging:\n  level: warn\n  format: json',
      '',
    ].join('\n');
    const replica = new Replica(
      name,
      { ...upstream.heraldEnv(''), TELEGRAM_BOT_TOKEN: telegram.token },
      config,
    );
    replicas.push(replica);
    await replica.listening();
    return replica;
  }

  /** Which replicas long-poll Telegram from `since` on (their API-root prefixes). */
  const pollers = (since: number): Set<string | undefined> =>
    new Set(telegram.polls.filter((poll) => poll.at >= since).map((poll) => poll.via));

  before(async () => {
    url = await freshDatabaseUrl();
    upstream = await ScriptedUpstream.start({ responder: echoResponder({ delayMs: 20 }) });
    telegram = await FakeTelegramApi.start();
    // The first replica takes the Telegram lease before the second exists: which one leads is known.
    const r1 = await startReplica('r1');
    await until('r1 to poll Telegram', async () => (await r1.telegramState())?.state === 'connected');
    const r2 = await startReplica('r2');
    proxy = await RoundRobinProxy.start([r1.url, r2.url]);
    client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });

  after(async () => {
    await Promise.all(replicas.map((replica) => replica.kill('SIGTERM')));
    for (const replica of replicas) replica.cleanUp();
    await proxy?.close();
    await telegram?.close();
    await upstream?.close();
  });

  it('chains previous_response_id across replicas, every turn seeing the whole chain', async () => {
    const seen = proxy.served.length;
    let previous: string | undefined;
    const inputs = ['the word is kiwi', 'and the colour is teal', 'what were they?', 'thanks'];
    for (const [i, input] of inputs.entries()) {
      const response = await client.responses.create({
        model: 'herald',
        input,
        ...(previous ? { previous_response_id: previous } : {}),
      });
      assert.deepEqual(userTexts(upstream.requests.at(-1)!), inputs.slice(0, i + 1));
      previous = response.id;
    }
    const targets = proxy.served.slice(seen).map((request) => request.target);
    assert.deepEqual(new Set(targets), new Set([0, 1]), 'both replicas took turns');
  });

  it('runs concurrent turns of one named conversation one after the other, none lost', async () => {
    const seen = upstream.requests.length;
    const turns = Array.from({ length: 6 }, (_, i) => `parallel ${i}`);
    const responses = await Promise.all(
      turns.map((input) => client.responses.create({ model: 'herald', input, conversation: 'replicas' })),
    );
    // Serialised turns each saw every earlier one: 1, 2, … 6 user messages.
    const counts = upstream.requests
      .slice(seen)
      .map((request) => userTexts(request).length)
      .sort((x, y) => x - y);
    assert.deepEqual(
      counts,
      turns.map((_, i) => i + 1),
    );
    const conversationId = (responses[0]!.conversation as { id: string }).id;
    const items = await client.conversations.items.list(conversationId, { order: 'asc', limit: 100 });
    const said = items.data.flatMap((item) =>
      item.type === 'message' && item.role === 'user'
        ? item.content.flatMap((part) => ('text' in part ? [part.text] : []))
        : [],
    );
    assert.deepEqual([...said].sort(), [...turns].sort());
  });

  it('replays an Idempotency-Key result when the retry lands on the other replica', async () => {
    const options = { headers: { 'Idempotency-Key': 'replicas-retry-1' } };
    const body = { model: 'herald', input: 'charge the card once' };
    const first = await client.responses.create(body, options);
    const runs = upstream.requests.length;
    const retried = await client.responses.create(body, options).withResponse();
    const [a, b] = proxy.served.slice(-2).map((request) => request.target);
    assert.notEqual(a, b, 'the retry went to the other replica');
    assert.equal(retried.data.id, first.id);
    assert.equal(retried.response.headers.get('idempotent-replayed'), 'true');
    assert.equal(upstream.requests.length, runs, 'the retry did not run the agent again');
  });

  it('polls Telegram from one replica at a time, and moves to the other when the leader is killed', async () => {
    const [r1, r2] = replicas as [Replica, Replica];
    const r1Id = (await r1.status()).instance_id;
    assert.deepEqual(await r2.telegramState(), {
      name: 'telegram',
      state: 'standby',
      failures: 0,
      last_error: null,
      leader: r1Id,
    });
    const since = Date.now();
    telegram.sendText({ chatId: TELEGRAM_USER, userId: TELEGRAM_USER, text: 'hello from telegram' });
    await telegram.waitFor(
      () => telegram.messages(TELEGRAM_USER).some((m) => m.visible.includes('You said: hello from telegram')),
      LEASE_GUARD_MS,
      'the reply from the leader',
    );
    assert.deepEqual(pollers(since), new Set(['r1']));

    await r1.kill('SIGKILL');
    const killedAt = Date.now();
    await until('r2 to poll Telegram', async () => pollers(killedAt).has('r2'));
    assert.equal((await r2.telegramState())?.state, 'connected');
    telegram.sendText({ chatId: TELEGRAM_USER, userId: TELEGRAM_USER, text: 'still there?' });
    await telegram.waitFor(
      () => telegram.messages(TELEGRAM_USER).some((m) => m.visible.includes('You said: still there?')),
      LEASE_GUARD_MS,
      'the reply from the new leader',
    );
    assert.deepEqual(pollers(killedAt), new Set(['r2']));
  });

  it('marks a response interrupted once the replica streaming it was killed and its lease expired', async () => {
    // r1 is gone: bring a third replica in, so the stream's replica can die with another left to ask.
    const r3 = await startReplica('r3');
    proxy.targets.push(r3.url);
    upstream.enqueue({ hang: true });
    const seen = upstream.requests.length;
    const stream = await client.responses.create({ model: 'herald', input: 'a long task', stream: true });
    const events = stream[Symbol.asyncIterator]();
    const first = await events.next();
    const id = (first.value as { response: { id: string } }).response.id;
    await upstream.waitForRequests(seen + 1);
    const serving = replicas.find((replica) => replica.url === proxy.targets[proxy.served.at(-1)!.target])!;
    assert.notEqual(serving.name, 'r1');
    assert.equal((await client.responses.retrieve(id)).status, 'in_progress');

    await serving.kill('SIGKILL');
    await assert.rejects(async () => {
      for (let next = await events.next(); !next.done; next = await events.next());
    }, 'the client sees its stream cut');
    const recovered = await until('the response to be marked interrupted', async () => {
      const response = await client.responses.retrieve(id);
      return response.status === 'in_progress' ? undefined : response;
    });
    assert.equal(recovered.status, 'incomplete');
    assert.deepEqual(recovered.incomplete_details, { reason: 'interrupted' });
  });
});
