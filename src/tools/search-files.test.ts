import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { configSchema } from '../config/schema.ts';
import { invokeTool } from './invoke-tool.ts';
import { createSearchFilesTool } from './search-files.ts';
import type { ToolContext } from './types.ts';

const searchFiles = createSearchFilesTool();

/** A workspace with sources, a dependency folder, a git folder and a symlink to a directory outside. */
async function context(t: TestContext, maxResults = 200): Promise<ToolContext> {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'herald-search-')));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cwd = path.join(dir, 'workspace');
  const files: Record<string, string> = {
    'src/app.ts': 'import { helper } from "./lib/helper.ts";\nconsole.log(helper());\n',
    'src/lib/helper.ts': 'export function helper() {\n  return "TODO: Helper";\n}\n',
    'README.md': '# Demo\nTODO write docs\n',
    'node_modules/dep/index.ts': 'TODO in a dependency\n',
    '.git/HEAD.ts': 'TODO in git\n',
    'logo.png': '\0\0TODO binary',
    '../outside/secret.ts': 'TODO secret outside\n',
  };
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(cwd, name)), { recursive: true });
    await writeFile(path.join(cwd, name), content);
  }
  await symlink(path.join(dir, 'outside'), path.join(cwd, 'linked'));
  const config = configSchema.parse({}).tools;
  return {
    cwd,
    home: '/nonexistent/herald-home',
    signal: new AbortController().signal,
    config: { ...config, files: { ...config.files, max_search_results: maxResults } },
  };
}

const run = async (ctx: ToolContext, args: object): Promise<string> => {
  const result = await invokeTool(searchFiles, JSON.stringify(args), ctx);
  assert.equal(result.isError, false, result.output);
  return result.output;
};

const sortedLines = (text: string): string[] => text.split('\n').sort();

test('lists files matching a glob, skipping node_modules, .git and links out of the workspace', async (t) => {
  const ctx = await context(t);
  assert.deepEqual(sortedLines(await run(ctx, { pattern: '**/*.ts' })), ['src/app.ts', 'src/lib/helper.ts']);
});

test('a pattern without a slash matches file names at any depth', async (t) => {
  const ctx = await context(t);
  assert.equal(await run(ctx, { pattern: 'helper.ts' }), 'src/lib/helper.ts');
});

test('an explicit pattern through a symlink pointing out finds nothing', async (t) => {
  const ctx = await context(t);
  assert.equal(await run(ctx, { pattern: 'linked/*' }), 'No matches.');
});

test('content search reports path:line: text for text files only', async (t) => {
  const ctx = await context(t);
  assert.deepEqual(sortedLines(await run(ctx, { content: 'TODO' })), [
    'README.md:2: TODO write docs',
    'src/lib/helper.ts:2: return "TODO: Helper";',
  ]);
});

test('content search combines with a glob, a path, a regex and ignore_case', async (t) => {
  const ctx = await context(t);
  assert.equal(await run(ctx, { pattern: '*.md', content: 'TODO' }), 'README.md:2: TODO write docs');
  assert.equal(
    await run(ctx, { path: 'src', content: '^console\\.\\w+\\(', regex: true }),
    'src/app.ts:2: console.log(helper());',
  );
  assert.deepEqual(sortedLines(await run(ctx, { path: 'src', content: 'HELPER', ignore_case: true })), [
    'src/app.ts:1: import { helper } from "./lib/helper.ts";',
    'src/app.ts:2: console.log(helper());',
    'src/lib/helper.ts:1: export function helper() {',
    'src/lib/helper.ts:2: return "TODO: Helper";',
  ]);
});

test('results are capped at max_search_results with a note', async (t) => {
  const ctx = await context(t, 2);
  for (let i = 0; i < 5; i++) await writeFile(path.join(ctx.cwd, `many-${i}.txt`), 'needle\nneedle\n');
  const out = await run(ctx, { content: 'needle' });
  const lines = out.split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0] ?? '', /^many-\d\.txt:1: needle$/);
  assert.equal(lines[2], '[results capped at 2; narrow the pattern, content or path to see the rest]');
});

test('refuses bad input clearly', async (t) => {
  const ctx = await context(t);
  const cases: Array<[object, RegExp]> = [
    [{}, /give a pattern, a content search, or both/],
    [{ pattern: '../outside/*' }, /leaves the search directory/],
    [{ pattern: '/etc/*' }, /leaves the search directory/],
    [{ content: '([a-', regex: true }, /Invalid regular expression/],
    [{ content: 'x', path: '../outside' }, /resolves outside the workspace/],
    [{ content: 'x', path: 'README.md' }, /README\.md is not a directory/],
  ];
  for (const [args, message] of cases) {
    const result = await invokeTool(searchFiles, JSON.stringify(args), ctx);
    assert.equal(result.isError, true, JSON.stringify(args));
    assert.match(result.output, message);
  }
});

test('a workspace holding HERALD_HOME never lists or searches HERALD_HOME', async (t) => {
  const ctx = await context(t);
  const home = path.join(ctx.cwd, 'herald-home');
  await mkdir(path.join(home, 'workspace'), { recursive: true });
  await writeFile(path.join(home, '.env'), 'TODO HERALD_API_KEY=sk-secret\n');
  await writeFile(path.join(home, 'config.yaml'), 'TODO: secret config\n');
  const withHome = { ...ctx, home };
  const listed = await run(withHome, { pattern: '**/*' });
  assert.ok(!listed.includes('herald-home'), listed);
  const found = await run(withHome, { pattern: '**/*', content: 'TODO' });
  assert.match(found, /README\.md:2/);
  assert.ok(!found.includes('secret'), found);
  const refused = await invokeTool(
    searchFiles,
    JSON.stringify({ path: 'herald-home', content: 'TODO' }),
    withHome,
  );
  assert.equal(refused.isError, true);
  assert.match(refused.output, /is in HERALD_HOME/);
});
