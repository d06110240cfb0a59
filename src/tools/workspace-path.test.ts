import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { PathOutsideWorkspaceError, ToolError } from './errors.ts';
import { resolveWorkspacePath } from './workspace-path.ts';

/** A HERALD_HOME that does not exist, for the tests about the workspace alone. */
const noHome = '/nonexistent/herald-home';

/** A temp dir holding `workspace/` and a sibling `outside/` with a secret file. */
async function layout(t: TestContext): Promise<{ workspace: string; outside: string }> {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'herald-confine-')));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const workspace = path.join(dir, 'workspace');
  const outside = path.join(dir, 'outside');
  await mkdir(path.join(workspace, 'src'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(outside, 'secret.txt'), 'secret');
  return { workspace, outside };
}

test('resolves relative paths, existing or not, inside the workspace', async (t) => {
  const { workspace } = await layout(t);
  const existing = await resolveWorkspacePath(workspace, 'src', noHome);
  assert.equal(existing.absolute, path.join(workspace, 'src'));
  assert.equal(existing.display, 'src');
  const fresh = await resolveWorkspacePath(workspace, 'src/new/deep/file.ts', noHome);
  assert.equal(fresh.display, path.join('src', 'new', 'deep', 'file.ts'));
  assert.equal((await resolveWorkspacePath(workspace, '.', noHome)).display, '.');
  assert.equal((await resolveWorkspacePath(workspace, 'src/../a.txt', noHome)).display, 'a.txt');
});

test('accepts an absolute path that lies inside the workspace', async (t) => {
  const { workspace } = await layout(t);
  const resolved = await resolveWorkspacePath(workspace, path.join(workspace, 'src', 'x.ts'), noHome);
  assert.equal(resolved.display, path.join('src', 'x.ts'));
});

test('refuses .. escapes', async (t) => {
  const { workspace } = await layout(t);
  await assert.rejects(
    resolveWorkspacePath(workspace, '../outside/secret.txt', noHome),
    PathOutsideWorkspaceError,
  );
  await assert.rejects(
    resolveWorkspacePath(workspace, 'src/../../outside', noHome),
    PathOutsideWorkspaceError,
  );
});

test('refuses absolute paths elsewhere', async (t) => {
  const { workspace, outside } = await layout(t);
  await assert.rejects(resolveWorkspacePath(workspace, '/etc/passwd', noHome), PathOutsideWorkspaceError);
  await assert.rejects(resolveWorkspacePath(workspace, path.join(outside, 'secret.txt'), noHome), {
    code: 'path_outside_workspace',
    message: /resolves outside the workspace/,
  });
});

test('refuses symlinks that point out, to files, to directories and through new paths', async (t) => {
  const { workspace, outside } = await layout(t);
  await symlink(path.join(outside, 'secret.txt'), path.join(workspace, 'leak.txt'));
  await symlink(outside, path.join(workspace, 'out'));
  await assert.rejects(resolveWorkspacePath(workspace, 'leak.txt', noHome), PathOutsideWorkspaceError);
  await assert.rejects(resolveWorkspacePath(workspace, 'out/secret.txt', noHome), PathOutsideWorkspaceError);
  await assert.rejects(
    resolveWorkspacePath(workspace, 'out/new-dir/new.txt', noHome),
    PathOutsideWorkspaceError,
  );
});

test('refuses a dangling symlink, whose target could be created anywhere', async (t) => {
  const { workspace, outside } = await layout(t);
  await symlink(path.join(outside, 'not-yet.txt'), path.join(workspace, 'dangling.txt'));
  await assert.rejects(resolveWorkspacePath(workspace, 'dangling.txt', noHome), (error: unknown) => {
    assert.ok(error instanceof ToolError);
    assert.equal(error.code, 'path_outside_workspace');
    return true;
  });
});

test('follows symlinks that stay inside the workspace', async (t) => {
  const { workspace } = await layout(t);
  await symlink(path.join(workspace, 'src'), path.join(workspace, 'alias'));
  const resolved = await resolveWorkspacePath(workspace, 'alias/file.ts', noHome);
  assert.equal(resolved.absolute, path.join(workspace, 'src', 'file.ts'));
});

test('works when the workspace itself is reached through a symlink', async (t) => {
  const { workspace } = await layout(t);
  const link = `${workspace}-link`;
  await symlink(workspace, link);
  const resolved = await resolveWorkspacePath(link, path.join(link, 'src'), noHome);
  assert.equal(resolved.absolute, path.join(workspace, 'src'));
});

test('a missing workspace is a clear error', async () => {
  await assert.rejects(resolveWorkspacePath('/nonexistent/herald-ws', 'a.txt', noHome), {
    code: 'not_found',
    message: /workspace directory/,
  });
});

/** A HERALD_HOME with its secret files, inside a temp dir that also holds an unrelated project. */
async function heraldHome(t: TestContext): Promise<{ dir: string; home: string }> {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'herald-home-guard-')));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const home = path.join(dir, 'home');
  await mkdir(path.join(home, 'workspace'), { recursive: true });
  await mkdir(path.join(home, 'whatsapp-auth'));
  await mkdir(path.join(dir, 'project'));
  for (const name of ['.env', 'config.yaml', 'herald.db', 'herald.db-wal', 'whatsapp-auth/creds.json']) {
    await writeFile(path.join(home, name), 'secret');
  }
  return { dir, home };
}

const inHeraldHome = { code: 'path_in_herald_home', message: /is in HERALD_HOME/ };

test('refuses HERALD_HOME files even when the workspace is HERALD_HOME itself', async (t) => {
  const { home } = await heraldHome(t);
  for (const file of ['.env', 'config.yaml', 'herald.db', 'herald.db-wal', 'whatsapp-auth/creds.json', '.']) {
    await assert.rejects(resolveWorkspacePath(home, file, home), inHeraldHome, file);
  }
  await assert.rejects(resolveWorkspacePath(home, 'new-file', home), inHeraldHome);
});

test('refuses HERALD_HOME files when the workspace is a parent of HERALD_HOME', async (t) => {
  const { dir, home } = await heraldHome(t);
  await assert.rejects(resolveWorkspacePath(dir, 'home/.env', home), inHeraldHome);
  await assert.rejects(resolveWorkspacePath(dir, 'home/workspace/a.txt', home), inHeraldHome);
  await assert.rejects(
    resolveWorkspacePath(path.dirname(dir), path.join(home, 'herald.db'), home),
    inHeraldHome,
  );
  assert.equal(
    (await resolveWorkspacePath(dir, 'project/a.txt', home)).display,
    path.join('project', 'a.txt'),
  );
});

test('the default workspace inside HERALD_HOME is open, its secrets are not, even through a symlink', async (t) => {
  const { home } = await heraldHome(t);
  const workspace = path.join(home, 'workspace');
  assert.equal((await resolveWorkspacePath(workspace, 'notes.md', home)).display, 'notes.md');
  await symlink(path.join(home, '.env'), path.join(workspace, 'env-link'));
  await assert.rejects(resolveWorkspacePath(workspace, 'env-link', home), PathOutsideWorkspaceError);
  await assert.rejects(resolveWorkspacePath(workspace, '../.env', home), PathOutsideWorkspaceError);
});

test('HERALD_HOME reached through a symlink is refused all the same', async (t) => {
  const { dir, home } = await heraldHome(t);
  const link = path.join(dir, 'home-link');
  await symlink(home, link);
  await assert.rejects(resolveWorkspacePath(dir, 'home-link/.env', link), inHeraldHome);
  await assert.rejects(resolveWorkspacePath(dir, 'home/.env', link), inHeraldHome);
});
