/**
 * One `herald serve` per HERALD_HOME. Two gateways on one SQLite file would both answer the same chat
 * platforms and interleave their writes, so serve takes `HERALD_HOME/herald.lock` (JSON: pid, host,
 * port, start time) and a second one refuses to start, naming the first. A lock whose process no longer
 * runs (killed with -9, a crash, a power cut) is taken over with a debug log. The lock is only advisory
 * between Herald processes: it does not stop other programs from opening the database, and two
 * processes taking over the same stale lock in the same instant may both succeed (Node has no flock).
 * `herald chat` does not take it: it opens no database. It does not decide whether a lock is needed;
 * serve does (a shared PostgreSQL store, `store.url`, needs none).
 */
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import type { Logger } from '../logger.ts';
import { CliError } from './cli-error.ts';

const holderSchema = z.object({
  pid: z.number().int().positive(),
  host: z.string(),
  port: z.number().int().optional(),
  started_at: z.string(),
});
type LockHolder = z.infer<typeof holderSchema>;

export class HomeLock {
  readonly #path: string;
  #holder: LockHolder;
  #released = false;

  private constructor(path: string, holder: LockHolder) {
    this.#path = path;
    this.#holder = holder;
  }

  /**
   * Takes the lock at `path` or throws a CliError (`home_locked`) naming the process that holds it.
   * The file appears complete or not at all (written aside, then hard-linked into place, which fails if
   * it exists), so a reader never mistakes a lock being written for a broken one.
   */
  static acquire(path: string, logger: Logger): HomeLock {
    const holder: LockHolder = { pid: process.pid, host: hostname(), started_at: new Date().toISOString() };
    // Two rounds: the second follows the removal of a stale lock.
    for (let round = 0; round < 2; round++) {
      if (createExclusive(path, holder)) return new HomeLock(path, holder);
      const current = readHolder(path);
      if (current && isAlive(current)) throw lockedError(path, current);
      logger.debug({ event: 'serve.stale_lock_taken_over', path, holder: current }, 'stale lock taken over');
      rmSync(path, { force: true });
    }
    throw new CliError('home_locked', `Could not take ${path}: another herald serve is starting.`);
  }

  /** Adds the API server's port, so a second serve can say where the first one listens. */
  recordPort(port: number): void {
    this.#holder = { ...this.#holder, port };
    renameSync(writeAside(this.#path, this.#holder), this.#path);
  }

  /** Removes the lock if it is still ours; idempotent, synchronous (it also runs on process exit). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    const current = readHolder(this.#path);
    if (current?.pid === this.#holder.pid && current.host === this.#holder.host)
      rmSync(this.#path, { force: true });
  }
}

/** Writes the lock's content next to it, to be moved into place in one step; returns that file. */
function writeAside(path: string, holder: LockHolder): string {
  const aside = `${path}.${process.pid}`;
  writeFileSync(aside, JSON.stringify(holder), { mode: 0o600 });
  return aside;
}

function createExclusive(path: string, holder: LockHolder): boolean {
  const aside = writeAside(path, holder);
  try {
    linkSync(aside, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(aside, { force: true });
  }
}

/** The lock's holder, or undefined if the file is gone or is not a lock Herald wrote. */
function readHolder(path: string): LockHolder | undefined {
  try {
    const parsed = holderSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the holder may still run. A lock from another host (a container sharing the volume) cannot
 * be checked, so it counts as held. A lock naming this very process is a leftover of an earlier life
 * with the same pid (pid 1 in a restarted container), so it is stale.
 */
function isAlive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true;
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockedError(path: string, holder: LockHolder): CliError {
  const where = holder.port === undefined ? '' : `, port ${holder.port}`;
  const host = holder.host === hostname() ? '' : ` on host ${holder.host}`;
  return new CliError(
    'home_locked',
    `Another herald serve (pid ${holder.pid}${where}${host}) is already using this HERALD_HOME; stop it or set another HERALD_HOME (if that process is gone, delete ${path}).`,
  );
}
