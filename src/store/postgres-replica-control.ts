/**
 * Cross-replica control of running responses and runs over the shared PostgreSQL database: a request
 * on replica B that must act on a run executing on replica A (cancel, delete, stop, an approval answer,
 * steering) writes a command row addressed to A and `NOTIFY`s; A `LISTEN`s on one dedicated connection,
 * claims its commands, hands each to the handler served for its kind and writes the answer back, which
 * B reads (woken by a second notification). The rows are the source of truth: a notification lost to
 * a reconnect is made up by A draining its commands at every lease renewal and by B polling for the
 * answer. It does not know what the actions mean; the API routes do.
 */
import pg from 'pg';
import { migratePostgres, type PostgresPool } from './postgres-database.ts';
import { liveInstancesSql } from './replica-lease.ts';
import type { ControlCommand, ControlTarget, ReplicaControl } from './types.ts';

const steps = [
  `CREATE TABLE replica_commands (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     instance_id TEXT NOT NULL,
     sender TEXT NOT NULL,
     target_kind TEXT NOT NULL,
     target_id TEXT NOT NULL,
     action TEXT NOT NULL,
     payload TEXT NOT NULL,
     claimed BOOLEAN NOT NULL DEFAULT false,
     answer TEXT,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE INDEX replica_commands_unclaimed ON replica_commands (instance_id) WHERE NOT claimed;`,
];

const CHANNEL = 'herald_control';
/** How often a sender checks the command row when no notification came (a lost one, a dead addressee). */
const POLL_MS = 500;
const RECONNECT_MS = 1_000;

/** A notification: a command for `to` (`command`), or the answer to `to`'s command (`answered`). */
interface Signal {
  to: string;
  command?: number;
  answered?: number;
  target?: string;
  action?: string;
}

interface CommandRow {
  id: number;
  sender: string;
  target_kind: ControlTarget['kind'];
  target_id: string;
  action: string;
  payload: string;
}

export class ReplicaTimeoutError extends Error {
  override readonly name = 'ReplicaTimeoutError';
}

export interface PostgresReplicaControlOptions {
  instanceId: string;
  /** The live replica running `target`, if any. */
  locate: (target: ControlTarget) => Promise<string | undefined>;
  /** How long `send` waits for the answer. */
  timeoutMs: number;
  /** A listener connection failed or a command could not be answered (logged; it recovers by itself). */
  onError?: (error: unknown) => void;
}

export class PostgresReplicaControl implements ReplicaControl {
  readonly #pool: PostgresPool;
  readonly #url: string;
  readonly #options: PostgresReplicaControlOptions;
  readonly #handlers = new Map<ControlTarget['kind'], (command: ControlCommand) => Promise<unknown>>();
  /** Senders waiting for an answer, by command id. */
  readonly #waiting = new Map<number, () => void>();
  #listener: pg.Client | undefined;
  #reconnect: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(pool: PostgresPool, url: string, options: PostgresReplicaControlOptions) {
    this.#pool = pool;
    this.#url = url;
    this.#options = options;
  }

  static async open(
    pool: PostgresPool,
    url: string,
    options: PostgresReplicaControlOptions,
  ): Promise<PostgresReplicaControl> {
    await migratePostgres(pool, 'replica_commands', steps);
    const control = new PostgresReplicaControl(pool, url, options);
    await control.#listen();
    return control;
  }

  serve(kind: ControlTarget['kind'], handler: (command: ControlCommand) => Promise<unknown>): void {
    this.#handlers.set(kind, handler);
  }

  async send(
    target: ControlTarget,
    action: string,
    payload: Record<string, unknown> = {},
  ): Promise<{ answer: unknown } | undefined> {
    const instance = await this.#options.locate(target);
    if (!instance || instance === this.#options.instanceId) return undefined;
    const { rows } = await this.#pool.query<{ id: number }>(
      `INSERT INTO replica_commands (instance_id, sender, target_kind, target_id, action, payload)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [instance, this.#options.instanceId, target.kind, target.id, action, JSON.stringify(payload)],
    );
    const id = rows[0]!.id;
    try {
      await this.#notify({ to: instance, command: id, target: `${target.kind}:${target.id}`, action });
      const deadline = Date.now() + this.#options.timeoutMs;
      for (;;) {
        const { rows: state } = await this.#pool.query<{ answer: string | null; alive: boolean }>(
          `SELECT answer, instance_id IN (${liveInstancesSql}) AS alive FROM replica_commands WHERE id = $1`,
          [id],
        );
        const row = state[0];
        if (row?.answer != null) return { answer: JSON.parse(row.answer) as unknown };
        // The addressee died with the command: nobody runs the target any more.
        if (!row?.alive) return undefined;
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new ReplicaTimeoutError(
            `The replica running ${target.kind} '${target.id}' did not answer within ${Math.round(this.#options.timeoutMs / 1000)} s.`,
          );
        }
        await this.#answerOrPoll(id, Math.min(POLL_MS, left));
      }
    } finally {
      this.#waiting.delete(id);
      await this.#pool.query('DELETE FROM replica_commands WHERE id = $1', [id]);
    }
  }

  /**
   * Claims and answers the commands addressed to this replica (on notification, and at every lease
   * renewal in case one was lost), and forgets commands nobody collected.
   */
  async drain(): Promise<void> {
    const { rows } = await this.#pool.query<CommandRow>(
      `UPDATE replica_commands SET claimed = true WHERE instance_id = $1 AND NOT claimed
       RETURNING id, sender, target_kind, target_id, action, payload`,
      [this.#options.instanceId],
    );
    // Each in its own time: a cancel waits for its run to end and must not hold up a steer behind it.
    for (const row of rows) void this.#answer(row).catch((error: unknown) => this.#options.onError?.(error));
    await this.#pool.query("DELETE FROM replica_commands WHERE created_at < now() - interval '1 hour'");
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#reconnect);
    for (const wake of this.#waiting.values()) wake();
    await this.#listener?.end().catch(() => undefined);
  }

  async #answer(row: CommandRow): Promise<void> {
    const handler = this.#handlers.get(row.target_kind);
    const command: ControlCommand = {
      target: { kind: row.target_kind, id: row.target_id },
      action: row.action,
      payload: JSON.parse(row.payload) as Record<string, unknown>,
    };
    const answer = handler ? await handler(command) : null;
    await this.#pool.query('UPDATE replica_commands SET answer = $1 WHERE id = $2', [
      JSON.stringify(answer ?? null),
      row.id,
    ]);
    await this.#notify({ to: row.sender, answered: row.id });
  }

  #answerOrPoll(id: number, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#waiting.set(id, done);
    });
  }

  async #notify(signal: Signal): Promise<void> {
    await this.#pool.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(signal)]);
  }

  async #listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url, application_name: 'herald-control' });
    const lost = (error?: unknown) => {
      if (error) this.#options.onError?.(error);
      if (this.#listener !== client) return;
      this.#listener = undefined;
      client.end().catch(() => undefined);
      this.#listenLater();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      const signal = JSON.parse(message.payload) as Signal;
      if (signal.to !== this.#options.instanceId) return;
      if (signal.command !== undefined) {
        this.drain().catch((error: unknown) => this.#options.onError?.(error));
      } else if (signal.answered !== undefined) {
        this.#waiting.get(signal.answered)?.();
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.#closed) await client.end();
    else this.#listener = client;
  }

  /** Listens again after a lost connection, catching up on the commands sent meanwhile. */
  #listenLater(): void {
    if (this.#closed) return;
    this.#reconnect = setTimeout(() => {
      this.#listen()
        .then(() => this.drain())
        .catch((error: unknown) => {
          this.#options.onError?.(error);
          this.#listenLater();
        });
    }, RECONNECT_MS);
    this.#reconnect.unref();
  }
}
