/**
 * `herald mcp add` and `herald mcp list` run as a user runs them (`node bin/herald.js` in a child
 * process, HERALD_HOME in a temp dir): add writes config.yaml keeping the user's comments and refuses
 * a duplicate; list connects to the real stdio test server and a broken one and shows their states;
 * doctor reports each server.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runHerald } from './support/run-herald.ts';

const stdioServer = fileURLToPath(new URL('./support/mcp-stdio-server.ts', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'herald-cli-mcp-'));
after(() => rmSync(home, { recursive: true, force: true }));

const run = (args: string[]) => runHerald(args, { HERALD_HOME: home });

test('mcp add writes config.yaml keeping comments; mcp list and doctor show each server', async () => {
  writeFileSync(join(home, 'config.yaml'), '# my own comment\nlogging:\n  level: warn # keep me\n');
  const added = await run([
    'mcp',
    'add',
    'local',
    '-e',
    'MCP_TEST_LOG=/dev/null',
    '--',
    process.execPath,
    stdioServer,
  ]);
  assert.equal(added.code, 0, added.stderr);
  const broken = await run(['mcp', 'add', 'broken', '--', join(home, 'missing-server')]);
  assert.equal(broken.code, 0, broken.stderr);
  const yaml = readFileSync(join(home, 'config.yaml'), 'utf8');
  assert.match(yaml, /# my own comment/);
  assert.match(yaml, /level: warn # keep me/);
  assert.match(yaml, /mcp_servers:\n {2}local:\n {4}command: /);

  const again = await run(['mcp', 'add', 'local', '--', 'x']);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /mcp_servers\.local already exists/);

  const list = await run(['mcp', 'list']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^local {2}ready \(stdio\) {2}\d+ tools: echo, slow, /m);
  assert.match(list.stdout, /^broken {2}failed \(stdio\)\n {4}spawn .*ENOENT/m);

  const doctor = await run(['doctor']);
  assert.match(doctor.stdout, /✓ mcp local: ready \(stdio\), \d+ tools/);
  assert.match(doctor.stdout, /✗ mcp broken: spawn .*ENOENT/);
});
