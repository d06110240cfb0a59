import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { configSchema } from '../config/schema.ts';
import { invokeTool } from './invoke-tool.ts';
import { createReadFileTool } from './read-file.ts';
import type { ToolContext } from './types.ts';

const readFile = createReadFileTool();

async function context(
  t: TestContext,
  files: Partial<ToolContext['config']['files']> = {},
): Promise<ToolContext> {
  const cwd = await mkdtemp(path.join(tmpdir(), 'herald-read-'));
  t.after(() => rm(cwd, { recursive: true, force: true }));
  const config = configSchema.parse({}).tools;
  return {
    cwd,
    home: '/nonexistent/herald-home',
    signal: new AbortController().signal,
    config: { ...config, files: { ...config.files, ...files } },
  };
}

const numbered = (from: number, to: number): string[] => {
  const lines: string[] = [];
  for (let n = from; n <= to; n++) lines.push(`${String(n).padStart(6)}\tline ${n}`);
  return lines;
};

async function writeLines(ctx: ToolContext, name: string, count: number): Promise<void> {
  const lines = Array.from({ length: count }, (_, i) => `line ${i + 1}`);
  await writeFile(path.join(ctx.cwd, name), `${lines.join('\n')}\n`);
}

test('shows a whole file with line numbers', async (t) => {
  const ctx = await context(t);
  await writeLines(ctx, 'a.txt', 3);
  assert.equal(await readFile.execute({ path: 'a.txt' }, ctx), numbered(1, 3).join('\n'));
});

test('shows a 1-based inclusive line range', async (t) => {
  const ctx = await context(t);
  await writeLines(ctx, 'a.txt', 10);
  assert.equal(
    await readFile.execute({ path: 'a.txt', start_line: 4, end_line: 6 }, ctx),
    numbered(4, 6).join('\n'),
  );
  assert.equal(await readFile.execute({ path: 'a.txt', start_line: 9 }, ctx), numbered(9, 10).join('\n'));
});

test('a range past the end says how long the file is', async (t) => {
  const ctx = await context(t);
  await writeLines(ctx, 'a.txt', 3);
  assert.equal(
    await readFile.execute({ path: 'a.txt', start_line: 7 }, ctx),
    '(a.txt has only 3 lines; start_line 7 is past the end)',
  );
});

test('an end_line before start_line is rejected by the schema', async (t) => {
  const ctx = await context(t);
  const result = await invokeTool(readFile, '{"path":"a.txt","start_line":5,"end_line":2}', ctx);
  assert.equal(result.isError, true);
  assert.match(result.output, /end_line: end_line must not be before start_line/);
});

test('stops at max_read_lines and says how to read on', async (t) => {
  const ctx = await context(t, { max_read_lines: 5 });
  await writeLines(ctx, 'long.txt', 50);
  const out = await readFile.execute({ path: 'long.txt', start_line: 11 }, ctx);
  assert.equal(
    out,
    `${numbered(11, 15).join('\n')}\n[showing lines 11-15 (max_read_lines 5); the file continues: read on with start_line=16]`,
  );
});

test('stops at max_read_bytes and says how to read on', async (t) => {
  const ctx = await context(t, { max_read_bytes: 20 });
  await writeLines(ctx, 'long.txt', 50);
  const out = await readFile.execute({ path: 'long.txt' }, ctx);
  // "line 1\n" is 7 bytes: two lines fit in 20, the third would not.
  assert.equal(
    out,
    `${numbered(1, 2).join('\n')}\n[stopped after line 2 at the 20-byte read limit; the file continues: read on with start_line=3]`,
  );
});

test('refuses binary files clearly', async (t) => {
  const ctx = await context(t);
  await writeFile(path.join(ctx.cwd, 'image.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13]));
  await assert.rejects(readFile.execute({ path: 'image.png' }, ctx), {
    code: 'binary_file',
    message: 'image.png looks like a binary file (8 bytes); read_file only shows text.',
  });
});

test('missing files, directories and empty files get clear answers', async (t) => {
  const ctx = await context(t);
  await mkdir(path.join(ctx.cwd, 'src'));
  await writeFile(path.join(ctx.cwd, 'empty.txt'), '');
  await assert.rejects(readFile.execute({ path: 'nope.txt' }, ctx), {
    code: 'not_found',
    message: 'File not found: nope.txt',
  });
  await assert.rejects(readFile.execute({ path: 'src' }, ctx), {
    code: 'not_a_file',
    message: /is a directory/,
  });
  assert.equal(await readFile.execute({ path: 'empty.txt' }, ctx), '(empty.txt is empty)');
});

test('handles CRLF line endings', async (t) => {
  const ctx = await context(t);
  await writeFile(path.join(ctx.cwd, 'dos.txt'), 'line 1\r\nline 2\r\n');
  assert.equal(await readFile.execute({ path: 'dos.txt' }, ctx), numbered(1, 2).join('\n'));
});

test('is confined to the workspace', async (t) => {
  const ctx = await context(t);
  await symlink('/etc/passwd', path.join(ctx.cwd, 'host'));
  for (const args of ['{"path":"../../etc/passwd"}', '{"path":"/etc/passwd"}', '{"path":"host"}']) {
    const result = await invokeTool(readFile, args, ctx);
    assert.equal(result.isError, true, args);
    assert.match(result.output, /^Error: Refused: ".*" resolves outside the workspace/, args);
  }
});
