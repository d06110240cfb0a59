import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { heraldPaths, loadConfig } from '../config/index.ts';
import { saveModelSettings, setEnvFileValue } from './save-model-settings.ts';

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tempHome(): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-setup-'));
  roots.push(dir);
  return dir;
}

test('saves the model into a first-run config.yaml, keeping its comments, and the key into .env', () => {
  const home = tempHome();
  loadConfig({ home, env: {} });
  const paths = heraldPaths(home);
  saveModelSettings(paths, {
    baseUrl: 'http://localhost:11434/v1',
    model: 'llama3.1',
    apiKey: 'sk-local-key',
  });

  const text = readFileSync(paths.configFile, 'utf8');
  assert.match(text, /^model:\n {2}base_url: http:\/\/localhost:11434\/v1\n {2}model: llama3\.1\n/m);
  assert.match(text, /# Herald configuration/);
  assert.match(text, /# timeout_s: 600/);
  assert.match(text, /# max_iterations: 30/);
  assert.doesNotMatch(text, /sk-local-key/);
  assert.equal(statSync(paths.envFile).mode & 0o777, 0o600);

  const { config, sources } = loadConfig({ home, env: {} });
  assert.equal(config.model.base_url, 'http://localhost:11434/v1');
  assert.equal(config.model.model, 'llama3.1');
  assert.equal(config.model.api_key, 'sk-local-key');
  assert.equal(sources['model.model'], 'config.yaml');
});

test('edits an existing model section in place and drops a key stored in config.yaml', () => {
  const home = tempHome();
  const paths = heraldPaths(home);
  writeFileSync(
    paths.configFile,
    '# mine\nmodel:\n  model: old # old one\n  api_key: sk-old\n  timeout_s: 30\napi_server:\n  port: 9000\n',
  );
  saveModelSettings(paths, {
    baseUrl: 'https://openrouter.ai/api/v1',
    model: 'new/model',
    apiKey: 'sk-or-new',
  });
  const text = readFileSync(paths.configFile, 'utf8');
  assert.match(text, /^# mine$/m);
  assert.match(text, /timeout_s: 30/);
  assert.match(text, /port: 9000/);
  assert.doesNotMatch(text, /sk-old/);
  const { config } = loadConfig({ home, env: {} });
  assert.equal(config.model.model, 'new/model');
  assert.equal(config.model.api_key, 'sk-or-new');
});

test('setEnvFileValue replaces one variable and keeps the others; empty removes it', () => {
  const file = join(tempHome(), '.env');
  writeFileSync(file, '# keys\nTELEGRAM_BOT_TOKEN=123:abc\nHERALD_API_KEY=old\n', { mode: 0o644 });
  setEnvFileValue(file, 'HERALD_API_KEY', 'new value');
  assert.equal(
    readFileSync(file, 'utf8'),
    '# keys\nTELEGRAM_BOT_TOKEN=123:abc\nHERALD_API_KEY="new value"\n',
  );
  assert.equal(statSync(file).mode & 0o777, 0o600);
  setEnvFileValue(file, 'HERALD_API_KEY', '');
  assert.equal(readFileSync(file, 'utf8'), '# keys\nTELEGRAM_BOT_TOKEN=123:abc\n');
});
