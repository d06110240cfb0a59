import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { silentLogger } from '../logger.ts';
import { HomeLock } from './home-lock.ts';

describe('HomeLock', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'herald-lock-'));
    path = join(dir, 'herald.lock');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const writeLock = (holder: Record<string, unknown>): void =>
    writeFileSync(path, JSON.stringify({ host: hostname(), started_at: 'then', ...holder }));
  const readLock = (): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8'));

  test('takes a free lock, records the port, and release removes it', () => {
    const lock = HomeLock.acquire(path, silentLogger());
    assert.equal(readLock()['pid'], process.pid);
    lock.recordPort(8642);
    assert.equal(readLock()['port'], 8642);
    lock.release();
    assert.equal(existsSync(path), false);
    assert.deepEqual(readdirSync(dir), [], 'no file written aside is left behind');
  });

  test('refuses a lock held by a running process, naming its pid and port', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30_000)'], { stdio: 'ignore' });
    try {
      writeLock({ pid: holder.pid, port: 9000 });
      assert.throws(() => HomeLock.acquire(path, silentLogger()), {
        code: 'home_locked',
        message: `Another herald serve (pid ${holder.pid}, port 9000) is already using this HERALD_HOME; stop it or set another HERALD_HOME (if that process is gone, delete ${path}).`,
      });
    } finally {
      holder.kill('SIGKILL');
      await once(holder, 'exit');
    }
  });

  test('takes over a lock whose process has ended', async () => {
    const gone = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await once(gone, 'exit');
    writeLock({ pid: gone.pid, port: 9000 });
    const lock = HomeLock.acquire(path, silentLogger());
    assert.equal(readLock()['pid'], process.pid);
    assert.equal(readLock()['port'], undefined);
    lock.release();
  });

  test('takes over a lock that is not one Herald wrote', () => {
    writeFileSync(path, 'garbage');
    HomeLock.acquire(path, silentLogger()).release();
  });

  test('counts a lock from another host as held (its pid cannot be checked here)', () => {
    writeLock({ pid: 1, host: 'elsewhere' });
    assert.throws(() => HomeLock.acquire(path, silentLogger()), /\(pid 1 on host elsewhere\)/);
  });

  test('release leaves a lock that is no longer ours alone', () => {
    const lock = HomeLock.acquire(path, silentLogger());
    writeLock({ pid: process.pid + 1 });
    lock.release();
    assert.equal(readLock()['pid'], process.pid + 1);
  });
});
