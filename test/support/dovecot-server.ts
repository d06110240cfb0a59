/**
 * A real IMAP server for the email tests: Debian's Dovecot, run as a throwaway instance on a random
 * loopback port with its own config, one passwd-file user per test and Maildirs in a temp dir. It is
 * installed with apt-get on first use when the tests run as root (idempotent); otherwise the tests that
 * need it are skipped with `skipReason`. It can be stopped and restarted on the same port, so the
 * adapter's reconnect can be tested against a server that really went away. It does not deliver mail:
 * tests APPEND messages over IMAP, which is what a delivery agent's IDLE push looks like to a client.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const DOVECOT = '/usr/sbin/dovecot';

/** Why Dovecot cannot run here, or undefined when it can (installing it first if root). */
export function dovecotSkipReason(): string | undefined {
  if (existsSync(DOVECOT)) return undefined;
  if (process.getuid?.() !== 0)
    return 'Dovecot is not installed and the tests do not run as root to apt-get it';
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'dovecot-imapd'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: 'ignore',
      timeout: 300_000,
    });
  } catch (error) {
    return `apt-get install dovecot-imapd failed: ${(error as Error).message}`;
  }
  return existsSync(DOVECOT) ? undefined : 'dovecot-imapd installed but /usr/sbin/dovecot is missing';
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export class DovecotServer {
  readonly port: number;
  readonly dir: string;
  readonly password = 'secret-pass';
  #process: ChildProcess | undefined;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  static async start(users: readonly string[]): Promise<DovecotServer> {
    const dir = mkdtempSync(join(tmpdir(), 'herald-dovecot-'));
    // Mail is accessed as the unprivileged `dovecot` user, which must reach the temp dir.
    chmodSync(dir, 0o755);
    const server = new DovecotServer(await freePort(), dir);
    mkdirSync(join(dir, 'mail'), { mode: 0o777 });
    chmodSync(join(dir, 'mail'), 0o777);
    writeFileSync(
      join(dir, 'passwd'),
      users.map((user) => `${user}:{PLAIN}${server.password}::::::\n`).join(''),
    );
    writeFileSync(join(dir, 'dovecot.conf'), server.#config());
    await server.restart();
    return server;
  }

  #config(): string {
    const d = this.dir;
    return `
base_dir = ${d}/run
state_dir = ${d}/state
log_path = ${d}/dovecot.log
info_log_path = ${d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:${d}/mail/%u
first_valid_uid = 1
mail_uid = dovecot
mail_gid = dovecot
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${d}/passwd
}
userdb {
  driver = static
  args = home=${d}/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${this.port}
  }
  inet_listener imaps {
    port = 0
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
`;
  }

  /** Starts (again) on the same port; resolves once it accepts connections. */
  async restart(): Promise<void> {
    if (this.#process) return;
    const child = spawn(DOVECOT, ['-F', '-c', join(this.dir, 'dovecot.conf')], { stdio: 'ignore' });
    this.#process = child;
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null)
        throw new Error(`dovecot exited with ${child.exitCode}; see ${this.dir}/dovecot.log`);
      if (await this.#accepts()) return;
      await sleep(25);
    }
    throw new Error('dovecot did not start listening');
  }

  #accepts(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect(this.port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  }

  /** Stops the server, dropping every client connection. */
  async stop(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
