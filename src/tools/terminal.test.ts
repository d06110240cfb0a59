import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { configSchema } from '../config/schema.ts';
import { createTerminalTool } from './terminal.ts';
import { resolveToolUser } from './tool-user.ts';
import type { ToolContext } from './types.ts';

const terminal = createTerminalTool();

async function context(
  t: TestContext,
  limits: Partial<ToolContext['config']['terminal']> = {},
  signal: AbortSignal = new AbortController().signal,
): Promise<ToolContext> {
  const cwd = await mkdtemp(path.join(tmpdir(), 'herald-terminal-'));
  t.after(() => rm(cwd, { recursive: true, force: true }));
  const config = configSchema.parse({}).tools;
  return {
    cwd,
    home: '/nonexistent/herald-home',
    signal,
    config: { ...config, terminal: { ...config.terminal, ...limits } },
  };
}

/** A process counts as gone once it no longer exists or is a zombie awaiting its reaper. */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function waitUntilGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (isGone(pid)) return true;
    await sleep(30);
  }
  return false;
}

async function readPid(file: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.trim() !== '') return Number(text.trim());
    await sleep(20);
  }
  throw new Error(`no pid written to ${file}`);
}

/** Kills a leftover test process if an assertion failed before the tool did. */
function reap(t: TestContext, pid: number): void {
  t.after(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
}

test('reports combined stdout and stderr and exit code 0', async (t) => {
  const ctx = await context(t);
  const out = await terminal.execute({ command: 'echo out; echo err >&2' }, ctx);
  assert.match(out, /out\n/);
  assert.match(out, /err\n/);
  assert.match(out, /\[exit code 0\]$/);
});

test('a non-zero exit is a normal result that reports the code', async (t) => {
  const ctx = await context(t);
  const out = await terminal.execute({ command: 'echo failing; exit 3' }, ctx);
  assert.equal(out, 'failing\n[exit code 3]');
});

test('runs in the workspace directory with stdin closed', async (t) => {
  const ctx = await context(t);
  const out = await terminal.execute({ command: 'pwd; cat; echo after-cat' }, ctx);
  assert.equal(out, `${await realpath(ctx.cwd)}\nafter-cat\n[exit code 0]`);
});

test('a command with no output says so', async (t) => {
  const ctx = await context(t);
  assert.equal(await terminal.execute({ command: 'true' }, ctx), '(no output)\n[exit code 0]');
});

test('does not hand Herald credentials to the command', async (t) => {
  const ctx = await context(t);
  process.env['HERALD_API_KEY'] = 'sk-test-secret';
  t.after(() => delete process.env['HERALD_API_KEY']);
  const out = await terminal.execute({ command: 'printenv HERALD_API_KEY || echo unset' }, ctx);
  assert.match(out, /^unset\n/);
});

test('the command sees only allow-listed variables plus tools.terminal.env, whatever the names', async (t) => {
  const planted = {
    API_SERVER_KEY: 'canary-api-server-key',
    HERALD_DATABASE_URL: 'postgres://canary-db-password@db/herald',
    MATRIX_ACCESS_TOKEN: 'canary-matrix-token',
    AWS_SECRET_ACCESS_KEY: 'canary-aws',
    SOME_VENDOR_PASSWORD: 'canary-vendor',
  };
  for (const [name, value] of Object.entries(planted)) process.env[name] = value;
  t.after(() => {
    for (const name of Object.keys(planted)) delete process.env[name];
  });
  const base = await context(t);
  const ctx = {
    ...base,
    config: { ...base.config, terminal: { ...base.config.terminal, env: { GIT_AUTHOR_NAME: 'Herald Bot' } } },
  };
  const out = await terminal.execute({ command: 'env' }, ctx);
  for (const value of Object.values(planted)) assert.ok(!out.includes(value), `${value} leaked:\n${out}`);
  const names = out.split('\n').flatMap((line) => /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(line)?.[1] ?? []);
  const expected =
    /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|TERM|TZ|TMPDIR|LC_\w+|PAGER|GIT_PAGER|GIT_TERMINAL_PROMPT|GIT_AUTHOR_NAME|PWD|SHLVL|OLDPWD|_)$/;
  assert.deepEqual(
    names.filter((name) => !expected.test(name)),
    [],
    'variables beyond the allow-list',
  );
  assert.match(out, /^GIT_AUTHOR_NAME=Herald Bot$/m);
});

test('on timeout kills the whole process group, grandchildren included', async (t) => {
  const ctx = await context(t);
  const command = 'sleep 30 & echo $! > grandchild.pid; sleep 30';
  const out = await terminal.execute({ command, timeout_s: 0.3 }, ctx);
  const pid = await readPid(path.join(ctx.cwd, 'grandchild.pid'));
  reap(t, pid);
  assert.match(out, /\[timed out after 0\.3 s; the command and its children were killed\]$/);
  assert.equal(await waitUntilGone(pid), true, 'the grandchild sleep is still running');
});

test('escalates to SIGKILL for a grandchild that ignores SIGTERM', async (t) => {
  const ctx = await context(t);
  const command = "(trap '' TERM; exec sleep 30) & echo $! > stubborn.pid; wait";
  const out = await terminal.execute({ command, timeout_s: 0.3 }, ctx);
  const pid = await readPid(path.join(ctx.cwd, 'stubborn.pid'));
  reap(t, pid);
  assert.match(out, /timed out/);
  assert.equal(await waitUntilGone(pid), true, 'the SIGTERM-immune grandchild is still running');
});

test('the timeout argument is capped by the configured maximum', async (t) => {
  const ctx = await context(t, { timeout_s: 0.3 });
  const out = await terminal.execute({ command: 'sleep 30', timeout_s: 100 }, ctx);
  assert.match(out, /timed out after 0\.3 s/);
});

test('aborting the signal kills the command promptly', async (t) => {
  const controller = new AbortController();
  const ctx = await context(t, {}, controller.signal);
  const running = terminal.execute({ command: 'sleep 30 & echo $! > child.pid; wait' }, ctx);
  const pid = await readPid(path.join(ctx.cwd, 'child.pid'));
  reap(t, pid);
  controller.abort();
  const hangGuard = sleep(3_000, 'hang', { ref: false }).then(() => 'still running after 3 s');
  const out = await Promise.race([running, hangGuard]);
  assert.match(out, /\[cancelled; the command and its children were killed\]$/);
  assert.equal(await waitUntilGone(pid), true);
});

test('caps long output, keeping head and tail with a note of how much was cut', async (t) => {
  const ctx = await context(t, { max_output_chars: 1_000 });
  const out = await terminal.execute(
    { command: "echo START; head -c 20000 /dev/zero | tr '\\0' x; echo; echo END" },
    ctx,
  );
  assert.match(out, /^START\nxxx/);
  assert.match(out, /END\n\[exit code 0\]$/);
  const omitted = /\[… output truncated: (\d+) chars omitted from the middle …\]/.exec(out);
  assert.ok(omitted, 'no truncation note');
  assert.equal(Number(omitted[1]), 'START\n'.length + 20_000 + '\nEND\n'.length - 1_000);
});

test('returns when the shell exits even if a background job keeps its output open', async (t) => {
  const ctx = await context(t);
  const out = await terminal.execute({ command: 'sleep 30 & echo $! > bg.pid; echo started' }, ctx);
  const pid = await readPid(path.join(ctx.cwd, 'bg.pid'));
  reap(t, pid);
  assert.match(out, /^started\n\[exit code 0\]\n\[background processes are still running/);
});

test('a missing workspace is a clear error, not "bash not found"', async (t) => {
  const ctx = await context(t);
  await assert.rejects(terminal.execute({ command: 'true' }, { ...ctx, cwd: path.join(ctx.cwd, 'gone') }), {
    code: 'not_found',
    message: /workspace directory .*gone does not exist/,
  });
});

test('labels show the first line of the command', () => {
  assert.equal(terminal.label({ command: 'ls -la' }), 'terminal: ls -la');
  assert.equal(terminal.label({ command: 'cd src\nls' }), 'terminal: cd src …');
});

// Herald as root runs commands as `tools.run_as` (auto = nobody). CI runs as root; elsewhere these are
// skipped with the reason, and the environment test above covers what a non-root Herald guarantees.
const isRoot = process.geteuid?.() === 0;
const notRoot = isRoot ? false : 'needs root to switch users (the environment allow-list is tested above)';

describe('as root with tools.run_as: auto', { skip: notRoot }, () => {
  const user = isRoot ? resolveToolUser('auto', 0).user : undefined;
  const asNobody = createTerminalTool({ user });

  /** A workspace the tool user owns, under a parent it may pass through (mkdtemp makes 0700 dirs). */
  async function ownedContext(t: TestContext, signal?: AbortSignal): Promise<ToolContext> {
    const ctx = await context(t, {}, signal);
    await chmod(ctx.cwd, 0o711);
    const workspace = path.join(ctx.cwd, 'workspace');
    await mkdir(workspace);
    await chown(workspace, user!.uid, user!.gid);
    return { ...ctx, cwd: workspace };
  }

  test('runs the command as the tool user with no supplementary groups, in the workspace', async (t) => {
    const ctx = await ownedContext(t);
    const out = await asNobody.execute(
      {
        command:
          "id -u; id -g; grep '^Groups:' /proc/self/status; pwd; echo $HOME; touch made-here && echo wrote",
      },
      ctx,
    );
    const [uid, gid, groups, pwd, home] = out.split('\n');
    assert.equal(Number(uid), user!.uid);
    assert.equal(Number(gid), user!.gid);
    assert.match(groups ?? '', /^Groups:\s*$/);
    assert.equal(pwd, await realpath(ctx.cwd));
    assert.equal(home, ctx.cwd);
    assert.match(out, /wrote\n\[exit code 0\]$/);
  });

  test("cannot read Herald's own environment through /proc", async (t) => {
    const ctx = await ownedContext(t);
    const out = await asNobody.execute(
      { command: "tr '\\0' '\\n' < /proc/$PPID/environ; cat /proc/$PPID/environ; echo end" },
      ctx,
    );
    assert.match(out, /Permission denied/);
    assert.ok(!out.includes('PATH='), out);
  });

  test('on timeout still kills the whole process group of the tool user', async (t) => {
    const ctx = await ownedContext(t);
    const command = "sleep 30 & echo $! > grandchild.pid; (trap '' TERM; exec sleep 30) & wait";
    const out = await asNobody.execute({ command, timeout_s: 0.3 }, ctx);
    const pid = await readPid(path.join(ctx.cwd, 'grandchild.pid'));
    reap(t, pid);
    assert.match(out, /timed out after 0\.3 s/);
    assert.equal(await waitUntilGone(pid), true, 'the grandchild sleep is still running');
  });

  test('aborting still kills a command running as the tool user', async (t) => {
    const controller = new AbortController();
    const ctx = await ownedContext(t, controller.signal);
    const running = asNobody.execute({ command: 'sleep 30 & echo $! > child.pid; wait' }, ctx);
    const pid = await readPid(path.join(ctx.cwd, 'child.pid'));
    reap(t, pid);
    controller.abort();
    const hangGuard = sleep(3_000, 'hang', { ref: false }).then(() => 'still running after 3 s');
    assert.match(await Promise.race([running, hangGuard]), /\[cancelled;/);
    assert.equal(await waitUntilGone(pid), true);
  });
});
