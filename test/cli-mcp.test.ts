/**
 * `herald mcp add` and `herald mcp list` run as a user runs them (`node bin/herald.js` in a child
 * process, HERALD_HOME in a temp dir): add writes config.yaml keeping the user's comments and refuses
 * a duplicate; list connects to the real stdio test server and a broken one and shows their states;
 * doctor reports each server.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const herald = fileURLToPath(new URL('../bin/herald.js', import.meta.url));
const stdioServer = fileURLToPath(new URL('./support/mcp-stdio-server.ts', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'herald-cli-mcp-'));
after(() => rmSync(home, { recursive: true, force: true }));

function runHerald(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [herald, ...args], {
      env: { PATH: process.env['PATH'] ?? '', HOME: home, HERALD_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (part: Buffer) => {
      stdout += part.toString();
    });
    child.stderr.on('data', (part: Buffer) => {
      stderr += part.toString();
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
}

test('mcp add writes config.yaml keeping comments; mcp list and doctor show each server', async () => {
  writeFileSync(join(home, 'config.yaml'), '# my own comment\nlogging:\n  level: warn # keep me\n');
  const added = await runHerald([
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
  const broken = await runHerald(['mcp', 'add', 'broken', '--', join(home, 'missing-server')]);
  assert.equal(broken.code, 0, broken.stderr);
  const yaml = readFileSync(join(home, 'config.yaml'), 'utf8');
  assert.match(yaml, /# my own comment/);
  assert.match(yaml, /level: warn # keep me/);
  assert.match(yaml, /mcp_servers:\n {2}local:\n {4}command: /);

  const again = await runHerald(['mcp', 'add', 'local', '--', 'x']);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /mcp_servers\.local already exists/);

  const list = await runHerald(['mcp', 'list']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^local {2}ready \(stdio\) {2}\d+ tools: echo, slow, /m);
  assert.match(list.stdout, /^broken {2}failed \(stdio\)\n {4}spawn .*ENOENT/m);

  const doctor = await runHerald(['doctor']);
  assert.match(doctor.stdout, /✓ mcp local: ready \(stdio\), \d+ tools/);
  assert.match(doctor.stdout, /✗ mcp broken: spawn .*ENOENT/);
});
