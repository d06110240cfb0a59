import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { formatConfig, loadConfig } from '../src/config/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'herald-show-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('config show masks secrets and prints the source of each value', () => {
  writeFileSync(join(dir, 'config.yaml'), 'model:\n  model: m1\nplatforms:\n  discord:\n    token: tiny\n');
  const text = formatConfig(
    loadConfig({
      home: dir,
      env: {
        HERALD_API_KEY: 'sk-live-abcdefghijklmnop',
        API_SERVER_KEY: 'first-long-key-1234,second-long-key-5678',
      },
    }),
  );
  assert.match(text, /^ {2}api_key: "?\*\*\*\*mnop"? {2}# env HERALD_API_KEY$/m);
  assert.doesNotMatch(text, /sk-live/);
  assert.doesNotMatch(text, /first-long-key/);
  assert.match(text, /keys: \[ "?\*\*\*\*1234"?, "?\*\*\*\*5678"? \] {2}# env API_SERVER_KEY/);
  assert.match(text, /token: \(set\) {2}# config\.yaml/);
  assert.doesNotMatch(text, /tiny/);
  assert.match(text, /^ {2}model: m1 {2}# config\.yaml$/m);
  assert.match(text, /^ {2}port: 8642 {2}# default$/m);
  assert.match(text, /^ {2}base_url: ~ {2}# not set$/m);
  assert.match(text, new RegExp(`^# HERALD_HOME: ${dir}$`, 'm'));
});

test('config show masks tools.terminal.env, where operators hand tokens to tool commands', () => {
  const home = mkdtempSync(join(tmpdir(), 'herald-show-env-'));
  after(() => rmSync(home, { recursive: true, force: true }));
  writeFileSync(
    join(home, 'config.yaml'),
    'tools:\n  terminal:\n    env:\n      NPM_TOKEN: npm-canary-token\n',
  );
  const text = formatConfig(loadConfig({ home, env: {} }));
  assert.doesNotMatch(text, /npm-canary-token/);
  assert.match(text, /^ {4}env: \(set\) /m);
});
