import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { configSchema } from '../config/schema.ts';
import { PathOutsideWorkspaceError } from './errors.ts';
import type { ToolContext } from './types.ts';
import { createWriteFileTool } from './write-file.ts';

const writeFile = createWriteFileTool();

async function context(t: TestContext): Promise<ToolContext> {
  const dir = await mkdtemp(path.join(tmpdir(), 'herald-write-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cwd = path.join(dir, 'workspace');
  await mkdir(cwd);
  return {
    cwd,
    home: '/nonexistent/herald-home',
    signal: new AbortController().signal,
    config: configSchema.parse({}).tools,
  };
}

test('creates a file and its parent directories, reporting bytes written', async (t) => {
  const ctx = await context(t);
  const out = await writeFile.execute({ path: 'src/deep/note.md', content: 'héllo\n' }, ctx);
  assert.equal(out, `Wrote 7 bytes to ${path.join('src', 'deep', 'note.md')} (new file).`);
  assert.equal(await readFile(path.join(ctx.cwd, 'src/deep/note.md'), 'utf8'), 'héllo\n');
});

test('replaces an existing file and says so', async (t) => {
  const ctx = await context(t);
  await writeFile.execute({ path: 'a.txt', content: 'old content' }, ctx);
  assert.equal(
    await writeFile.execute({ path: 'a.txt', content: 'new' }, ctx),
    'Wrote 3 bytes to a.txt (replaced the existing file).',
  );
  assert.equal(await readFile(path.join(ctx.cwd, 'a.txt'), 'utf8'), 'new');
});

test('refuses to overwrite a directory', async (t) => {
  const ctx = await context(t);
  await mkdir(path.join(ctx.cwd, 'src'));
  await assert.rejects(writeFile.execute({ path: 'src', content: 'x' }, ctx), { code: 'not_a_file' });
});

test('refuses paths outside the workspace, writing nothing', async (t) => {
  const ctx = await context(t);
  const outside = path.join(path.dirname(ctx.cwd), 'outside');
  await mkdir(outside);
  await symlink(outside, path.join(ctx.cwd, 'out'));
  await assert.rejects(
    writeFile.execute({ path: '../escaped.txt', content: 'x' }, ctx),
    PathOutsideWorkspaceError,
  );
  await assert.rejects(
    writeFile.execute({ path: path.join(outside, 'abs.txt'), content: 'x' }, ctx),
    PathOutsideWorkspaceError,
  );
  await assert.rejects(
    writeFile.execute({ path: 'out/sub/via-link.txt', content: 'x' }, ctx),
    PathOutsideWorkspaceError,
  );
  await assert.rejects(stat(path.join(path.dirname(ctx.cwd), 'escaped.txt')), { code: 'ENOENT' });
  await assert.rejects(stat(path.join(outside, 'sub')), { code: 'ENOENT' });
});

test('as root with a tool user, hands new files and directories to that user so commands can change them', {
  skip: process.geteuid?.() === 0 ? false : 'needs root to chown to another user',
}, async (t) => {
  const ctx = await context(t);
  const owner = { uid: 65534, gid: 65534, name: 'nobody' };
  await mkdir(path.join(ctx.cwd, 'existing'));
  const out = await createWriteFileTool({ owner }).execute({ path: 'existing/a/b/c.txt', content: 'x' }, ctx);
  assert.match(out, /new file/);
  for (const made of ['existing/a', 'existing/a/b', 'existing/a/b/c.txt']) {
    assert.equal((await stat(path.join(ctx.cwd, made))).uid, owner.uid, made);
  }
  // Only what it created: a directory that was there keeps its owner.
  assert.equal((await stat(path.join(ctx.cwd, 'existing'))).uid, 0);
});
