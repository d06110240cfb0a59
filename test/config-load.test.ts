import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  CONFIG_VERSION,
  ConfigError,
  configSchema,
  defaultConfigYaml,
  loadConfig,
} from '../src/config/index.ts';

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A fresh HERALD_HOME with the given config.yaml and .env (omitted = absent). */
function home(files: { yaml?: string; dotenv?: string } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-config-'));
  roots.push(dir);
  if (files.yaml !== undefined) writeFileSync(join(dir, 'config.yaml'), files.yaml);
  if (files.dotenv !== undefined) writeFileSync(join(dir, '.env'), files.dotenv);
  return dir;
}

function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig precedence', () => {
  test('env beats config.yaml beats defaults, and every value says where it came from', () => {
    const dir = home({ yaml: 'api_server:\n  port: 9000\n  host: 0.0.0.0\nmodel:\n  model: from-file\n' });
    const { config, sources } = loadConfig({ home: dir, env: { API_SERVER_PORT: '9100' } });
    assert.equal(config.api_server.port, 9100);
    assert.equal(sources['api_server.port'], 'env API_SERVER_PORT');
    assert.equal(config.api_server.host, '0.0.0.0');
    assert.equal(sources['api_server.host'], 'config.yaml');
    assert.equal(config.model.model, 'from-file');
    assert.equal(config.api_server.heartbeat_s, 15);
    assert.equal(sources['api_server.heartbeat_s'], 'default');
    assert.equal(config.home, dir);
  });

  test('.env values act as env vars, and the real environment beats them', () => {
    const dir = home({
      yaml: 'model:\n  model: from-file\n',
      dotenv: 'HERALD_MODEL=from-dotenv\nHERALD_API_KEY=sk-dotenv\n',
    });
    const fromDotenv = loadConfig({ home: dir, env: {} });
    assert.equal(fromDotenv.config.model.model, 'from-dotenv');
    assert.equal(fromDotenv.config.model.api_key, 'sk-dotenv');
    assert.equal(fromDotenv.sources['model.model'], 'env HERALD_MODEL');
    const fromReal = loadConfig({ home: dir, env: { HERALD_MODEL: 'from-real-env' } });
    assert.equal(fromReal.config.model.model, 'from-real-env');
    assert.equal(fromReal.config.model.api_key, 'sk-dotenv');
    const emptyReal = loadConfig({ home: dir, env: { HERALD_MODEL: '' } });
    assert.equal(emptyReal.config.model.model, 'from-dotenv');
  });

  test('parses booleans, integers and comma lists from env', () => {
    const dir = home({ yaml: '' });
    const { config } = loadConfig({
      home: dir,
      env: {
        API_SERVER_ENABLED: 'no',
        API_SERVER_KEY: 'key-one, key-two',
        API_SERVER_CORS_ORIGINS: 'https://a.example,https://b.example',
        TELEGRAM_REPLY_TO_MODE: 'all',
        HERALD_LOG_LEVEL: 'debug',
      },
    });
    assert.equal(config.api_server.enabled, false);
    assert.deepEqual(config.api_server.keys, ['key-one', 'key-two']);
    assert.deepEqual(config.api_server.cors_origins, ['https://a.example', 'https://b.example']);
    assert.equal(config.platforms.telegram.reply_to_mode, 'all');
    assert.equal(config.logging.level, 'debug');
  });

  test('OPENROUTER_API_KEY implies the OpenRouter base URL only when none is set anywhere', () => {
    const bare = loadConfig({ home: home({ yaml: '' }), env: { OPENROUTER_API_KEY: 'sk-or-1' } });
    assert.equal(bare.config.model.api_key, 'sk-or-1');
    assert.equal(bare.config.model.base_url, 'https://openrouter.ai/api/v1');
    assert.equal(bare.sources['model.base_url'], 'env OPENROUTER_API_KEY');
    const withFile = loadConfig({
      home: home({ yaml: 'model:\n  base_url: http://localhost:11434/v1\n' }),
      env: { OPENROUTER_API_KEY: 'sk-or-1' },
    });
    assert.equal(withFile.config.model.base_url, 'http://localhost:11434/v1');
  });

  test('tracing: HERALD_TRACING switches it on; the OTEL_* variables fill what config.yaml leaves unset', () => {
    const otel = {
      HERALD_TRACING: '1',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_SERVICE_NAME: 'herald-eu',
    };
    const bare = loadConfig({ home: home({ yaml: '' }), env: otel });
    assert.equal(bare.config.tracing.enabled, true);
    assert.equal(bare.config.tracing.endpoint, 'http://collector:4318/v1/traces');
    assert.equal(bare.config.tracing.service_name, 'herald-eu');
    const traces = loadConfig({
      home: home({ yaml: '' }),
      env: { ...otel, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otel.example/traces' },
    });
    assert.equal(traces.config.tracing.endpoint, 'https://otel.example/traces');
    const withFile = loadConfig({
      home: home({ yaml: 'tracing:\n  endpoint: http://jaeger:4318/v1/traces\n' }),
      env: otel,
    });
    assert.equal(withFile.config.tracing.endpoint, 'http://jaeger:4318/v1/traces');
    assert.equal(loadConfig({ home: home({ yaml: '' }), env: {} }).config.tracing.enabled, false);
  });

  test('fallback variables never override Herald variables or config.yaml', () => {
    const dir = home({ yaml: 'model:\n  api_key: sk-file\n' });
    const { config } = loadConfig({
      home: dir,
      env: { OPENAI_API_KEY: 'sk-openai', OPENAI_BASE_URL: 'http://o.example/v1' },
    });
    assert.equal(config.model.api_key, 'sk-file');
    assert.equal(config.model.base_url, 'http://o.example/v1');
    const herald = loadConfig({
      home: dir,
      env: { OPENAI_API_KEY: 'sk-openai', HERALD_API_KEY: 'sk-herald' },
    });
    assert.equal(herald.config.model.api_key, 'sk-herald');
  });

  test('a relative agent.workspace resolves under HERALD_HOME; the default is HERALD_HOME/workspace', () => {
    const dir = home({ yaml: 'agent:\n  workspace: work\n' });
    assert.equal(loadConfig({ home: dir, env: {} }).config.agent.workspace, join(dir, 'work'));
    const bare = home({ yaml: '' });
    assert.equal(loadConfig({ home: bare, env: {} }).config.agent.workspace, join(bare, 'workspace'));
  });

  test('HERALD_HOME comes from the environment when no home is given', () => {
    const dir = home({ yaml: 'model:\n  model: via-env-home\n' });
    assert.equal(loadConfig({ env: { HERALD_HOME: dir } }).config.model.model, 'via-env-home');
  });
});

describe('loadConfig errors', () => {
  test('a bad value in config.yaml names the key, the value, the file and what is expected', () => {
    const dir = home({ yaml: 'api_server:\n  port: abc\n' });
    const error = configErrorOf(() => loadConfig({ home: dir, env: {} }));
    assert.equal(error.code, 'config_invalid');
    assert.equal(error.key, 'api_server.port');
    assert.equal(
      error.message,
      `Invalid config: api_server.port = "abc" (from ${join(dir, 'config.yaml')}): expected an integer from 0 to 65535`,
    );
  });

  test('a bad value from env names the env var', () => {
    const error = configErrorOf(() =>
      loadConfig({ home: home({ yaml: '' }), env: { API_SERVER_PORT: 'abc' } }),
    );
    assert.equal(
      error.message,
      'Invalid config: api_server.port = "abc" (from env API_SERVER_PORT): expected an integer from 0 to 65535',
    );
  });

  test('a bad value from .env names the variable and the .env file', () => {
    const dir = home({ yaml: '', dotenv: 'TELEGRAM_REPLY_TO_MODE=sometimes\n' });
    const error = configErrorOf(() => loadConfig({ home: dir, env: {} }));
    assert.match(error.message, /platforms\.telegram\.reply_to_mode = "sometimes"/);
    assert.match(error.message, new RegExp(`env TELEGRAM_REPLY_TO_MODE in ${join(dir, '.env')}`));
    assert.match(error.message, /expected one of off, first, all$/);
  });

  test('an unknown key in config.yaml is an error naming the key', () => {
    const error = configErrorOf(() =>
      loadConfig({ home: home({ yaml: 'api_server:\n  prot: 1\n' }), env: {} }),
    );
    assert.match(
      error.message,
      /^Invalid config: unknown key api_server\.prot \(from .*config\.yaml\): expected one of /,
    );
  });

  test('a secret value is not echoed in the error', () => {
    const error = configErrorOf(() =>
      loadConfig({ home: home({ yaml: 'model:\n  api_key: 12345\n' }), env: {} }),
    );
    assert.doesNotMatch(error.message, /12345/);
    assert.match(error.message, /model\.api_key/);
  });

  test('a YAML syntax error is one line naming the file and line', () => {
    const dir = home({ yaml: 'model:\n  model: ok\napi_server:\n  port: [1\n' });
    const error = configErrorOf(() => loadConfig({ home: dir, env: {} }));
    assert.match(error.message, new RegExp(`^Invalid YAML in ${join(dir, 'config.yaml')} line \\d+: `));
    assert.equal(error.message.includes('\n'), false);
  });

  test('every error message is a single line', () => {
    const cases = [
      'agent: {max_iterations: 0}\n',
      'model:\n  base_url: not-a-url\n',
      'logging: {level: loud}\n',
      '- a\n',
    ];
    for (const yaml of cases) {
      const error = configErrorOf(() => loadConfig({ home: home({ yaml }), env: {} }));
      assert.equal(error.message.includes('\n'), false, error.message);
    }
  });
});

describe('first run', () => {
  test('writes a commented config.yaml that loads back to the defaults', () => {
    const dir = join(home(), 'nested-home');
    const first = loadConfig({ home: dir, env: {} });
    assert.equal(first.created, true);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const text = readFileSync(join(dir, 'config.yaml'), 'utf8');
    assert.equal(text, defaultConfigYaml());
    const { home: _home, ...config } = first.config;
    const defaults = configSchema.parse({});
    assert.deepEqual(
      { ...config, agent: { ...config.agent, workspace: undefined } },
      {
        ...defaults,
        agent: { ...defaults.agent, workspace: undefined },
      },
    );
    const { config_version: versionSource, ...otherSources } = first.sources;
    assert.equal(versionSource, 'config.yaml');
    assert.ok(Object.values(otherSources).every((source) => source === 'default'));

    const second = loadConfig({ home: dir, env: {} });
    assert.equal(second.created, false);
    assert.deepEqual(second.config, first.config);
  });

  test('the commented config.yaml mentions every section, key and env var', () => {
    const text = defaultConfigYaml();
    assert.match(text, new RegExp(`^config_version: ${CONFIG_VERSION}$`, 'm'));
    for (const section of Object.keys(configSchema.shape).filter((s) => s !== 'config_version'))
      assert.match(text, new RegExp(`^${section}:$`, 'm'));
    for (const key of [
      'base_url',
      'max_iterations',
      'max_output_chars',
      'heartbeat_s',
      'reply_to_mode',
      'level',
    ]) {
      assert.match(text, new RegExp(`# +${key}:`));
    }
    for (const env of [
      'HERALD_BASE_URL',
      'HERALD_API_KEY',
      'HERALD_MODEL',
      'API_SERVER_PORT',
      'TELEGRAM_BOT_TOKEN',
    ]) {
      assert.ok(text.includes(env), env);
    }
  });

  test('writeDefaults: false leaves a missing home untouched', () => {
    const dir = join(home(), 'absent');
    const loaded = loadConfig({ home: dir, env: {}, writeDefaults: false });
    assert.equal(loaded.created, false);
    assert.throws(() => statSync(dir));
  });
});

describe('platforms.whatsapp', () => {
  test('reply_prefix stays unset unless given, so unset and "" differ; WHATSAPP_REPLY_PREFIX sets it', () => {
    const unset = loadConfig({ home: home({ yaml: '' }), env: {} }).config.platforms.whatsapp;
    assert.equal(unset.reply_prefix, undefined);
    const empty = loadConfig({
      home: home({ yaml: "platforms:\n  whatsapp:\n    reply_prefix: ''\n" }),
      env: {},
    });
    assert.equal(empty.config.platforms.whatsapp.reply_prefix, '');
    const fromEnv = loadConfig({
      home: home({ yaml: "platforms:\n  whatsapp:\n    reply_prefix: ''\n" }),
      env: { WHATSAPP_REPLY_PREFIX: 'Bot:\\n' },
    });
    assert.equal(fromEnv.config.platforms.whatsapp.reply_prefix, 'Bot:\\n');
    assert.equal(fromEnv.sources['platforms.whatsapp.reply_prefix'], 'env WHATSAPP_REPLY_PREFIX');
  });

  test('allowed_users are phone numbers in digits, however they were written', () => {
    const dir = home({
      yaml: 'platforms:\n  whatsapp:\n    allowed_users: ["+49 151 2345-678", 4917600000002]\n',
    });
    const { whatsapp } = loadConfig({ home: dir, env: {} }).config.platforms;
    assert.deepEqual(whatsapp.allowed_users, ['491512345678', '4917600000002']);
    assert.equal(whatsapp.self_chat, false);
  });
});
