import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { configSchema } from '../config/schema.ts';
import { createEditFileTool } from './edit-file.ts';
import { invokeTool } from './invoke-tool.ts';
import type { ToolContext } from './types.ts';

const editFile = createEditFileTool();

async function context(t: TestContext, files: Record<string, string> = {}): Promise<ToolContext> {
  const cwd = await mkdtemp(path.join(tmpdir(), 'herald-edit-'));
  t.after(() => rm(cwd, { recursive: true, force: true }));
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(cwd, name), content);
  return {
    cwd,
    home: '/nonexistent/herald-home',
    signal: new AbortController().signal,
    config: configSchema.parse({}).tools,
  };
}

const contentOf = (ctx: ToolContext, name: string): Promise<string> =>
  readFile(path.join(ctx.cwd, name), 'utf8');

test('replaces text that occurs exactly once', async (t) => {
  const ctx = await context(t, { 'a.ts': 'const a = 1;\nconst b = 2;\n' });
  const result = await invokeTool(
    editFile,
    '{"path":"a.ts","old_text":"const b = 2;","new_text":"const b = 3;"}',
    ctx,
  );
  assert.deepEqual(result, { isError: false, output: 'Replaced 1 occurrence in a.ts (first at line 2).' });
  assert.equal(await contentOf(ctx, 'a.ts'), 'const a = 1;\nconst b = 3;\n');
});

test('missing text is an error that says "not found" and changes nothing', async (t) => {
  const ctx = await context(t, { 'a.ts': 'const a = 1;\n' });
  await assert.rejects(
    editFile.execute({ path: 'a.ts', old_text: 'const  a', new_text: 'x', replace_all: false }, ctx),
    {
      code: 'text_not_found',
      message: /^old_text not found in a\.ts/,
    },
  );
  assert.equal(await contentOf(ctx, 'a.ts'), 'const a = 1;\n');
});

test('ambiguous text is an error that counts the matches and suggests the fix', async (t) => {
  const ctx = await context(t, { 'a.ts': 'x = 1;\nx = 1;\nx = 1;\n' });
  await assert.rejects(
    editFile.execute({ path: 'a.ts', old_text: 'x = 1;', new_text: 'y', replace_all: false }, ctx),
    {
      code: 'text_not_unique',
      message: 'old_text found 3 times in a.ts; add context or set replace_all.',
    },
  );
  assert.equal(await contentOf(ctx, 'a.ts'), 'x = 1;\nx = 1;\nx = 1;\n');
});

test('replace_all replaces every occurrence', async (t) => {
  const ctx = await context(t, { 'a.ts': 'foo();\nbar();\nfoo();\n' });
  const out = await editFile.execute(
    { path: 'a.ts', old_text: 'foo', new_text: 'baz', replace_all: true },
    ctx,
  );
  assert.equal(out, 'Replaced 2 occurrences in a.ts (first at line 1).');
  assert.equal(await contentOf(ctx, 'a.ts'), 'baz();\nbar();\nbaz();\n');
});

test('replacement text is literal, $-patterns included', async (t) => {
  const ctx = await context(t, { 'a.sh': 'echo NAME\n' });
  await editFile.execute({ path: 'a.sh', old_text: 'NAME', new_text: "$& $1 $'", replace_all: false }, ctx);
  assert.equal(await contentOf(ctx, 'a.sh'), "echo $& $1 $'\n");
});

test('matches LF old_text against a CRLF file and keeps CRLF', async (t) => {
  const ctx = await context(t, { 'dos.txt': 'one\r\ntwo\r\nthree\r\n' });
  await editFile.execute(
    { path: 'dos.txt', old_text: 'one\ntwo', new_text: 'uno\ndos', replace_all: false },
    ctx,
  );
  assert.equal(await contentOf(ctx, 'dos.txt'), 'uno\r\ndos\r\nthree\r\n');
});

test('a missing file, a binary file and an escaping path are clear errors', async (t) => {
  const ctx = await context(t, { 'bin.dat': '\0\0\0x' });
  await symlink('/etc/passwd', path.join(ctx.cwd, 'passwd'));
  const edit = (p: string) =>
    editFile.execute({ path: p, old_text: 'x', new_text: 'y', replace_all: false }, ctx);
  await assert.rejects(edit('nope.txt'), { code: 'not_found' });
  await assert.rejects(edit('bin.dat'), { code: 'binary_file' });
  await assert.rejects(edit('passwd'), { code: 'path_outside_workspace' });
  await assert.rejects(edit('../x'), { code: 'path_outside_workspace' });
});

test('an empty old_text is rejected by the schema', async (t) => {
  const ctx = await context(t, { 'a.ts': 'x' });
  const result = await invokeTool(editFile, '{"path":"a.ts","old_text":"","new_text":"y"}', ctx);
  assert.equal(result.isError, true);
  assert.match(result.output, /^Error: invalid arguments for edit_file: old_text: /);
});
