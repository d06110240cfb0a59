/**
 * What only the shared PostgreSQL store does (the shared behaviour is in store-contract.ts): schema
 * migrations applied once when replicas start together, the cross-replica turn lock, Idempotency-Key
 * claims between replicas, recovery that respects live replicas' leases, and commands from one replica
 * to the replica running a response or run (LISTEN/NOTIFY, with the command rows as the fallback).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  LOCAL_OWNER,
  openPostgresPool,
  PostgresIdempotencyStore,
  type PostgresPool,
  PostgresReplicaControl,
  PostgresResponseStore,
  PostgresRunStore,
  PostgresTurnLock,
  ReplicaLease,
} from '../src/store/index.ts';
import { freshDatabaseUrl, postgresSkipReason } from './support/postgres.ts';

describe('PostgreSQL store', { skip: postgresSkipReason() }, () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });
  const pool = (url: string): PostgresPool => {
    const opened = openPostgresPool(url, { max: 4 });
    closers.push(() => opened.end());
    return opened;
  };
  const replica = async (url: string) => {
    const replicaPool = pool(url);
    const lease = await ReplicaLease.start(replicaPool, { leaseMs: 60_000 });
    closers.push(() => lease.release());
    return { pool: replicaPool, lease };
  };

  it('applies each schema step once when several replicas start at the same moment', async () => {
    const url = await freshDatabaseUrl();
    const started = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const { pool: replicaPool, lease } = await replica(url);
        return PostgresResponseStore.open(replicaPool, { instanceId: lease.instanceId });
      }),
    );
    assert.equal(started.length, 4);
    const { rows } = await pool(url).query('SELECT store, version FROM schema_versions ORDER BY store');
    assert.deepEqual(rows, [
      { store: 'replicas', version: 1 },
      { store: 'responses', version: 1 },
    ]);
  });

  it('lets one holder of a turn key run at a time across connections, and frees the key when work throws', async () => {
    const url = await freshDatabaseUrl();
    const one = new PostgresTurnLock(url, { maxHolders: 2 });
    const two = new PostgresTurnLock(url, { maxHolders: 2 });
    closers.push(
      () => one.close(),
      () => two.close(),
    );
    const log: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered!: () => void;
    const firstIn = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const first = one.hold('conv_1', async () => {
      log.push('first in');
      entered();
      await held;
      log.push('first out');
    });
    await firstIn;
    const second = two.hold('conv_1', async () => {
      log.push('second in');
    });
    const other = await two.hold('conv_2', async () => 'another key is not held up');
    assert.equal(other, 'another key is not held up');
    assert.deepEqual(log, ['first in']);
    release();
    await Promise.all([first, second]);
    assert.deepEqual(log, ['first in', 'first out', 'second in']);

    await assert.rejects(
      one.hold('conv_1', async () => {
        throw new Error('turn failed');
      }),
      /turn failed/,
    );
    assert.equal(await two.hold('conv_1', async () => 'free again'), 'free again');
  });

  it('hands an Idempotency-Key to one replica; the other sees it running, then its result, or a conflict', async () => {
    const url = await freshDatabaseUrl();
    const [x, y] = [await replica(url), await replica(url)];
    const storeX = await PostgresIdempotencyStore.open(x.pool, x.lease.instanceId);
    const storeY = await PostgresIdempotencyStore.open(y.pool, y.lease.instanceId);
    const day = 86_400_000;
    assert.deepEqual(await storeX.claim('k', 'body-1', day), { state: 'claimed' });
    assert.deepEqual(await storeY.claim('k', 'body-1', day), { state: 'running' });
    assert.deepEqual(await storeY.claim('k', 'body-2', day), { state: 'conflict' });
    const result = { status: 200, contentType: 'application/json', payload: '{"ok":true}' };
    await storeX.complete('k', result);
    assert.deepEqual(await storeY.claim('k', 'body-1', day), { state: 'done', result });

    assert.deepEqual(await storeX.claim('failed', 'b', day), { state: 'claimed' });
    await storeX.release('failed');
    assert.deepEqual(
      await storeY.claim('failed', 'b', day),
      { state: 'claimed' },
      'a released key runs afresh',
    );

    assert.deepEqual(await storeX.claim('orphan', 'b', day), { state: 'claimed' });
    await x.lease.release();
    assert.deepEqual(
      await storeY.claim('orphan', 'b', day),
      { state: 'claimed' },
      "a dead replica's claim is taken over",
    );
  });

  it("recovers only the responses of replicas whose lease expired, not a live replica's", async () => {
    const url = await freshDatabaseUrl();
    const [x, y] = [await replica(url), await replica(url)];
    const storeX = await PostgresResponseStore.open(x.pool, { instanceId: x.lease.instanceId });
    const storeY = await PostgresResponseStore.open(y.pool, { instanceId: y.lease.instanceId });
    const running = (id: string) => ({
      id,
      status: 'in_progress' as const,
      body: { id, status: 'in_progress' },
      inputItems: [],
      outputItems: [],
      previousResponseId: null,
      conversationId: null,
      createdAt: 1_700_000_000,
      owner: LOCAL_OWNER,
    });
    await storeX.put(running('resp_x'));
    await storeY.put(running('resp_y'));
    assert.equal(await storeY.markInterrupted(), 0, 'both replicas are alive');
    await pool(url).query(
      "UPDATE herald_replicas SET lease_expires_at = now() - interval '1 second' WHERE instance_id = $1",
      [x.lease.instanceId],
    );
    assert.equal(await storeY.markInterrupted(), 1);
    assert.equal((await storeY.get('resp_x'))?.status, 'incomplete');
    assert.equal((await storeY.get('resp_y'))?.status, 'in_progress');
    // The lease renews itself while its replica lives: renewing makes it live again.
    await x.lease.renew();
    await storeX.put(running('resp_x2'));
    assert.equal(await storeY.markInterrupted(), 0);
  });

  it("recovers only the runs of replicas whose lease expired and tells where a live one's run executes", async () => {
    const url = await freshDatabaseUrl();
    const [x, y] = [await replica(url), await replica(url)];
    const runsX = await PostgresRunStore.open(x.pool, x.lease.instanceId);
    const runsY = await PostgresRunStore.open(y.pool, y.lease.instanceId);
    const run = (id: string) => ({
      id,
      owner: LOCAL_OWNER,
      status: 'running' as const,
      createdAt: 1_700_000_000,
      model: 'herald',
      responseId: `resp_${id}`,
      usage: null,
      outputText: null,
      error: null,
    });
    await runsX.create(run('run_x'));
    await runsY.create(run('run_y'));
    assert.equal(await runsY.runningReplica('run_x'), x.lease.instanceId);
    assert.equal(await runsY.markInterrupted(), 0, 'both replicas are alive');
    await pool(url).query(
      "UPDATE herald_replicas SET lease_expires_at = now() - interval '1 second' WHERE instance_id = $1",
      [x.lease.instanceId],
    );
    assert.equal(await runsY.runningReplica('run_x'), undefined, 'its replica is gone');
    assert.equal(await runsY.markInterrupted(), 1);
    assert.equal((await runsY.get('run_x'))?.status, 'interrupted');
    assert.equal((await runsY.get('run_y'))?.status, 'running');
  });

  it('hands a command to the replica running the target and returns its answer; none when nobody runs it', async () => {
    const url = await freshDatabaseUrl();
    const [x, y] = [await replica(url), await replica(url)];
    let runsOn: string | undefined = x.lease.instanceId;
    const control = async (r: typeof x) => {
      const opened = await PostgresReplicaControl.open(r.pool, url, {
        instanceId: r.lease.instanceId,
        locate: async () => runsOn,
        timeoutMs: 2_000,
      });
      closers.push(() => opened.close());
      return opened;
    };
    const [onX, onY] = [await control(x), await control(y)];
    const seen: unknown[] = [];
    onX.serve('run', async (command) => {
      seen.push(command);
      return { ok: true, echo: command.payload['text'] };
    });
    assert.deepEqual(await onY.send({ kind: 'run', id: 'run_1' }, 'steer', { text: 'left' }), {
      answer: { ok: true, echo: 'left' },
    });
    assert.deepEqual(seen, [
      { target: { kind: 'run', id: 'run_1' }, action: 'steer', payload: { text: 'left' } },
    ]);
    assert.deepEqual(
      await onY.send({ kind: 'response', id: 'resp_1' }, 'cancel'),
      { answer: null },
      'no handler',
    );
    runsOn = y.lease.instanceId;
    assert.equal(await onY.send({ kind: 'run', id: 'run_1' }, 'stop'), undefined, 'runs here: not remote');
    runsOn = undefined;
    assert.equal(await onY.send({ kind: 'run', id: 'run_1' }, 'stop'), undefined);

    // A notification lost (the listener was down): the row waits, and the next drain answers it.
    runsOn = x.lease.instanceId;
    onX.serve('run', async () => 'late');
    await pool(url).query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'herald-control'`,
    );
    const answered = onY.send({ kind: 'run', id: 'run_2' }, 'stop');
    await onX.drain();
    assert.deepEqual(await answered, { answer: 'late' });
    const { rows } = await pool(url).query('SELECT count(*)::int AS n FROM replica_commands');
    assert.deepEqual(rows, [{ n: 0 }], 'answered commands are removed');
  });
});
