/**
 * The interactive `herald setup` wizard driven through a scripted prompter (no TTY): a first run
 * through every step, live token checks against the local Telegram, Discord and Slack fakes (a rejected
 * token is asked again), and an upgraded config that gets only the steps with options newer than its
 * old version.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseDocument } from 'yaml';
import { checkPlatformToken } from '../src/cli/platform-token-check.ts';
import { runSetup } from '../src/cli/setup.ts';
import { loadConfig } from '../src/config/index.ts';
import { type FakeDiscordApi, startFakeDiscordApi } from './support/fake-discord-api.ts';
import { type FakeSlackApi, startFakeSlackApi } from './support/fake-slack-api.ts';
import { FakeTelegramApi } from './support/fake-telegram-api.ts';
import { unusedLoopbackPort } from './support/loopback-server.ts';
import { ScriptedPrompter } from './support/scripted-prompter.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

let upstream: ScriptedUpstream;
let telegram: FakeTelegramApi;
let discord: FakeDiscordApi;
let slack: FakeSlackApi;
const roots: string[] = [];

before(async () => {
  upstream = await ScriptedUpstream.start({
    models: [
      { id: 'model-a', object: 'model', created: 0, owned_by: 'x' },
      { id: 'model-b', object: 'model', created: 0, owned_by: 'x' },
    ],
  });
  telegram = await FakeTelegramApi.start();
  discord = await startFakeDiscordApi();
  slack = await startFakeSlackApi();
});
after(async () => {
  await Promise.all([upstream.close(), telegram.close(), discord.close(), slack.close()]);
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tempHome(): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-wizard-'));
  roots.push(dir);
  return dir;
}

function apiRoots() {
  return { telegram: telegram.apiRoot, discord: discord.restApi, slack: slack.slackApiUrl };
}

describe('platform token checks', () => {
  test('each platform accepts its valid token and names the bot', async () => {
    assert.deepEqual(await checkPlatformToken('telegram', telegram.token, apiRoots()), {
      status: 'valid',
      identity: '@herald_test_bot',
    });
    assert.deepEqual(await checkPlatformToken('discord', 'discord-token', apiRoots()), {
      status: 'valid',
      identity: 'herald',
    });
    assert.deepEqual(await checkPlatformToken('slack', 'xoxb-1', apiRoots()), {
      status: 'valid',
      identity: 'herald in Fake',
    });
    assert.ok(slack.calls.some((c) => c.method === 'auth.test' && c.token === 'xoxb-1'));
  });

  test('a token the platform refuses is rejected', async () => {
    assert.equal((await checkPlatformToken('telegram', '1:bad', apiRoots())).status, 'rejected');
    discord.failNext('GET', /^\/users\/@me$/, {
      status: 401,
      body: { message: '401: Unauthorized', code: 0 },
    });
    assert.deepEqual(await checkPlatformToken('discord', 'bad', apiRoots()), {
      status: 'rejected',
      reason: '401: Unauthorized (HTTP 401)',
    });
    slack.failNext('auth.test', { body: { ok: false, error: 'invalid_auth' } });
    assert.deepEqual(await checkPlatformToken('slack', 'xoxb-bad', apiRoots()), {
      status: 'rejected',
      reason: 'invalid_auth',
    });
  });

  test('an API nobody answers is unreachable, not a rejection, and the token is not in the reason', async () => {
    const root = `http://127.0.0.1:${await unusedLoopbackPort()}`;
    const check = await checkPlatformToken('telegram', '123:secret-token', { telegram: root });
    assert.equal(check.status, 'unreachable');
    assert.ok(check.status === 'unreachable' && !check.reason.includes('secret-token'));
  });
});

describe('the interactive wizard', () => {
  test('a first run goes through every step and saves the answers', async () => {
    const home = tempHome();
    const loaded = loadConfig({ home, env: {} });
    const prompter = new ScriptedPrompter([
      [/model provider/, 'custom'],
      [/Base URL/, upstream.url],
      [/API key/, 'sk-upstream'],
      [/^Model$/, 'model-b'],
      [/Serve the OpenAI-compatible API/, true],
      [/Address to listen on/, '0.0.0.0'],
      [/^Port$/, '8700'],
      [/API key clients must send/, 'generate'],
      [/Which chat platforms/, ['telegram', 'discord', 'slack', 'whatsapp']],
      [/Telegram bot token/, '1:wrong'],
      [/Telegram bot token/, telegram.token],
      [/Telegram user ids/, '42'],
      [/Discord bot token/, 'discord-token'],
      [/Discord user ids/, '1001, 1002'],
      [/Slack bot token/, 'xoxb-token'],
      [/Slack app-level token/, 'xapp-token'],
      [/Slack user ids/, ''],
      [/Which tools may requests to the API use/, 'read-only'],
      [/Who do tool commands run as/, 'off'],
      [/Link WhatsApp now/, true],
    ]);
    const linked: string[] = [];
    await runSetup(loaded, {
      prompter,
      env: {},
      apiRoots: apiRoots(),
      linkWhatsApp: async (linkHome) => {
        linked.push(linkHome);
      },
    });
    prompter.assertDone();
    assert.deepEqual(linked, [home], 'WhatsApp linking is offered at the end and runs for this home');

    const shown = prompter.shown.join('\n');
    assert.match(shown, /Telegram rejected the token/);
    assert.match(shown, /Telegram knows this token: @herald_test_bot/);
    assert.match(shown, /warning: The API will listen on 0\.0\.0\.0/);
    assert.match(shown, /warning: No Slack users allowed yet/);
    assert.match(shown, /herald whatsapp link/);
    const key = /API key \(shown once[^:]*\): (\S+)/.exec(shown)?.[1];
    assert.ok(key);
    assert.match(shown, /Open WebUI: .*:8700\/v1 with the key above/);

    const { config } = loadConfig({ home, env: {} });
    assert.equal(config.model.base_url, upstream.url);
    assert.equal(config.model.model, 'model-b');
    assert.equal(config.model.api_key, 'sk-upstream');
    assert.equal(config.api_server.host, '0.0.0.0');
    assert.equal(config.api_server.port, 8700);
    assert.deepEqual(config.api_server.keys, [key]);
    assert.equal(config.platforms.telegram.token, telegram.token);
    assert.deepEqual(config.platforms.telegram.allowed_users, ['42']);
    assert.deepEqual(config.platforms.discord.allowed_users, ['1001', '1002']);
    assert.equal(config.platforms.slack.app_token, 'xapp-token');
    assert.deepEqual(config.toolsets['api'], ['read_file', 'search_files', 'web_fetch']);
    assert.equal(config.tools.run_as, 'off');
    const env = readFileSync(join(home, '.env'), 'utf8');
    for (const name of [
      'HERALD_API_KEY',
      'API_SERVER_KEY',
      'TELEGRAM_BOT_TOKEN',
      'DISCORD_BOT_TOKEN',
      'SLACK_BOT_TOKEN',
      'SLACK_APP_TOKEN',
    ])
      assert.match(env, new RegExp(`^${name}=`, 'm'));
  });

  test('a re-run keeps what the user keeps: the model, the key, the tools', async () => {
    const home = tempHome();
    const first = new ScriptedPrompter([
      [/model provider/, 'ollama'],
      [/Base URL/, upstream.url],
      [/API key/, ''],
      [/^Model$/, 'model-a'],
      [/Serve the OpenAI-compatible API/, true],
      [/Address/, '127.0.0.1'],
      [/^Port$/, '8642'],
      [/API key clients must send/, 'generate'],
      [/Which chat platforms/, []],
      [/Which tools/, 'full'],
      [/Who do tool commands run as/, 'auto'],
    ]);
    await runSetup(loadConfig({ home, env: {} }), { prompter: first, env: {} });
    const envBefore = readFileSync(join(home, '.env'), 'utf8');

    const second = new ScriptedPrompter([
      [/Keep the model model-a at/, true],
      [/Serve the OpenAI-compatible API/, true],
      [/Address/, '127.0.0.1'],
      [/^Port$/, '8642'],
      [/API key clients must send/, 'keep'],
      [/Which chat platforms/, []],
      [/Which tools/, 'full'],
      [/Who do tool commands run as/, 'auto'],
    ]);
    await runSetup(loadConfig({ home, env: {} }), { prompter: second, env: {} });
    second.assertDone();
    assert.equal(readFileSync(join(home, '.env'), 'utf8'), envBefore);
    assert.doesNotMatch(second.shown.join('\n'), /shown once/);
    assert.equal(loadConfig({ home, env: {} }).config.model.model, 'model-a');
  });

  test('on a config upgraded from version 1 it asks only the steps with newer options, once', async () => {
    const home = tempHome();
    copyFileSync(new URL('./fixtures/config-v1.yaml', import.meta.url), join(home, 'config.yaml'));
    const loaded = loadConfig({ home, env: {} });
    const prompter = new ScriptedPrompter([
      [/Serve the OpenAI-compatible API/, true],
      [/Address/, '127.0.0.1'],
      [/^Port$/, '8700'],
      [/API key clients must send/, 'keep'],
      [/Which chat platforms/, []],
      [/Which tools/, 'keep'],
      [/Who do tool commands run as/, 'auto'],
    ]);
    await runSetup(loaded, { prompter, env: {} });
    prompter.assertDone();
    assert.match(
      prompter.shown.join('\n'),
      /upgraded from version 1: asking only about what is new since \(API server, Chat platforms, Tools\)/,
    );

    const text = readFileSync(join(home, 'config.yaml'), 'utf8');
    assert.doesNotMatch(text, /upgraded from version/);
    assert.match(text, /# ollama on this box/);
    assert.equal(parseDocument(text).get('config_version'), 2);

    // Answered: the next run is a full one again.
    const next = new ScriptedPrompter([[/Keep the model llama3\.1/, true]]);
    await assert.rejects(
      runSetup(loadConfig({ home, env: {} }), { prompter: next, env: {} }),
      /unscripted question/,
    );
  });

  test('--all goes through every step on an upgraded config', async () => {
    const home = tempHome();
    copyFileSync(new URL('./fixtures/config-v1.yaml', import.meta.url), join(home, 'config.yaml'));
    const prompter = new ScriptedPrompter([[/Keep the model llama3\.1/, true]]);
    await assert.rejects(
      runSetup(loadConfig({ home, env: {} }), { prompter, env: {}, all: true }),
      /unscripted question: "Serve the OpenAI-compatible API/,
    );
  });
});
