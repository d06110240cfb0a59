import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { configSchema, type HeraldConfig } from '../config/index.ts';
import { createLogger } from '../logger.ts';
import { createTerminalTool } from './terminal.ts';
import { setUpToolIsolation } from './tool-isolation.ts';

interface Fixture {
  home: string;
  workspace: string;
  config: HeraldConfig;
  warnings: () => Array<{ event: string; msg: string }>;
  logger: ReturnType<typeof createLogger>;
}

const secretFiles = ['.env', 'config.yaml', 'herald.db', 'herald.db-wal', 'herald.db-shm'];

/**
 * A HERALD_HOME laid out as an older Herald left it: secret files 0644, an auth dir 0755. Its parent
 * may be passed through (mkdtemp makes 0700 dirs, which would hide the workspace from the tool user).
 */
async function fixture(t: TestContext, tools: Record<string, unknown> = {}): Promise<Fixture> {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'herald-isolation-')));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o711);
  const home = path.join(dir, 'home');
  await mkdir(path.join(home, 'whatsapp-auth'), { recursive: true, mode: 0o755 });
  for (const name of secretFiles) await writeFile(path.join(home, name), `canary-${name}\n`, { mode: 0o644 });
  await writeFile(path.join(home, 'whatsapp-auth', 'creds.json'), 'canary-creds', { mode: 0o644 });
  await writeFile(path.join(dir, 'elsewhere.txt'), 'not Herald’s', { mode: 0o644 });
  await symlink(path.join(dir, 'elsewhere.txt'), path.join(home, 'link'));
  const lines: string[] = [];
  const logger = createLogger('warn', { write: (line: string) => void lines.push(line) });
  const config: HeraldConfig = { ...configSchema.parse({ tools }), home };
  return {
    home,
    workspace: path.join(home, 'workspace'),
    config,
    logger,
    warnings: () => lines.map((line) => JSON.parse(line)),
  };
}

const modeOf = async (file: string): Promise<number> => (await stat(file)).mode & 0o777;

async function assertSecretsClosed(home: string): Promise<void> {
  for (const name of secretFiles) assert.equal(await modeOf(path.join(home, name)), 0o600, name);
  assert.equal(await modeOf(path.join(home, 'whatsapp-auth')), 0o700);
}

const isRoot = process.geteuid?.() === 0;
const notRoot = isRoot ? false : 'needs root to switch users; the non-root cases below still run';

describe('as root (CI)', { skip: notRoot }, () => {
  test('auto runs tools as nobody in a workspace nobody owns, HERALD_HOME 0711 and its files 0600', async (t) => {
    const f = await fixture(t);
    const { user } = setUpToolIsolation(f.config, f.logger);
    assert.equal(user?.name, 'nobody');
    assert.deepEqual(f.warnings(), []);
    assert.equal(await modeOf(f.home), 0o711);
    await assertSecretsClosed(f.home);
    assert.equal((await stat(f.workspace)).uid, user.uid);
    // The symlink's target is not Herald's to chmod.
    assert.equal(await modeOf(path.join(path.dirname(f.home), 'elsewhere.txt')), 0o644);
  });

  test("the real terminal tool, as nobody, cannot read HERALD_HOME's secrets by any path", async (t) => {
    const f = await fixture(t);
    const { user } = setUpToolIsolation(f.config, f.logger);
    const terminal = createTerminalTool({ user });
    const ctx = {
      cwd: f.workspace,
      home: f.home,
      signal: new AbortController().signal,
      config: f.config.tools,
    };
    const command = [
      'cat ../.env ../config.yaml ../herald.db ../herald.db-wal ../whatsapp-auth/creds.json',
      `cat ${f.home}/.env`,
      'ls -a ..',
      'echo probe > mine.txt && cat mine.txt',
    ].join('; ');
    const out = await terminal.execute({ command }, ctx);
    assert.ok(!out.includes('canary'), out);
    assert.match(out, /Permission denied/);
    assert.match(out, /^probe$/m);
  });

  test('a workspace the tool user cannot write is reported once at startup, with the fix', async (t) => {
    const f = await fixture(t);
    const workspace = path.join(path.dirname(f.home), 'root-owned');
    await mkdir(workspace, { mode: 0o755 });
    setUpToolIsolation({ ...f.config, agent: { ...f.config.agent, workspace } }, f.logger);
    const [warning, ...rest] = f.warnings();
    assert.equal(rest.length, 0);
    assert.equal(warning?.event, 'tools.workspace_unusable');
    assert.match(
      warning?.msg ?? '',
      /run as nobody .* cannot enter or write .*root-owned.*chown 65534:65534/,
    );
    // The workspace is outside HERALD_HOME, so nothing needs to pass through the home.
    assert.equal(await modeOf(f.home), 0o700);
  });

  test('run_as: off keeps root and warns that tools can read every secret', async (t) => {
    const f = await fixture(t, { run_as: 'off' });
    assert.equal(setUpToolIsolation(f.config, f.logger).user, undefined);
    assert.match(f.warnings()[0]?.msg ?? '', /run_as is off: tool commands run as root/);
    assert.equal(await modeOf(f.home), 0o700);
    await assertSecretsClosed(f.home);
  });
});

describe('when Herald is not root', () => {
  const heraldUid = isRoot ? 1000 : (process.geteuid?.() ?? 1000);

  test('tools keep Herald’s user, a warning says so, and HERALD_HOME is still closed to others', async (t) => {
    const f = await fixture(t);
    assert.equal(setUpToolIsolation(f.config, f.logger, { heraldUid }).user, undefined);
    const warnings = f.warnings();
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.event, 'tools.not_isolated');
    assert.match(warnings[0]?.msg ?? '', /can read whatever Herald can/);
    assert.equal(await modeOf(f.home), 0o700);
    await assertSecretsClosed(f.home);
    assert.ok((await stat(f.workspace)).isDirectory());
    assert.equal(await readFile(path.join(f.home, '.env'), 'utf8'), 'canary-.env\n');
  });

  test('naming another user is a startup error, not a silent no-op', async (t) => {
    const f = await fixture(t, { run_as: '4242' });
    assert.throws(() => setUpToolIsolation(f.config, f.logger, { heraldUid }), {
      code: 'config_invalid',
      message: /tools\.run_as = "4242" needs Herald to run as root/,
    });
  });
});

test('quiet (herald chat) tells the person at the terminal at info level, not as a warning', async (t) => {
  const f = await fixture(t);
  setUpToolIsolation(f.config, f.logger, { heraldUid: isRoot ? 1000 : undefined, quiet: true });
  assert.deepEqual(f.warnings(), []);
});
