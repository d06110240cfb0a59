/**
 * `herald doctor` against the scripted upstream and the platform fakes: every check passing, and each
 * check failing with its fix on its line (a model that does not call tools, a rejected token, a
 * missing Slack app token, an unlinked WhatsApp, a port someone else holds), and a port the HERALD_HOME
 * lock says this Herald's serve holds.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { CliError } from '../src/cli/cli-error.ts';
import { runDoctor } from '../src/cli/doctor.ts';
import { type FakeDiscordApi, startFakeDiscordApi } from './support/fake-discord-api.ts';
import { startFakeMatrixHomeserver } from './support/fake-matrix-homeserver.ts';
import { startFakeMattermostApi } from './support/fake-mattermost-api.ts';
import { FakeTelegramApi } from './support/fake-telegram-api.ts';
import { unusedLoopbackPort } from './support/loopback-server.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

let upstream: ScriptedUpstream;
let telegram: FakeTelegramApi;
let discord: FakeDiscordApi;
/** Slack's API root: a closed loopback port (tests must never reach slack.com). */
let closedSlackRoot: string;
const roots: string[] = [];

before(async () => {
  upstream = await ScriptedUpstream.start();
  telegram = await FakeTelegramApi.start();
  discord = await startFakeDiscordApi();
  closedSlackRoot = `http://127.0.0.1:${await unusedLoopbackPort()}/api/`;
});
after(async () => {
  await Promise.all([upstream.close(), telegram.close(), discord.close()]);
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tempHome(): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-doctor-'));
  roots.push(dir);
  return dir;
}

async function doctor(
  env: Record<string, string>,
  options: { probe?: boolean } = {},
): Promise<{ lines: string[]; failed?: CliError }> {
  const output = new PassThrough();
  let text = '';
  output.on('data', (part: Buffer) => {
    text += part.toString();
  });
  let failed: CliError | undefined;
  try {
    await runDoctor({
      env,
      output,
      probe: options.probe,
      apiRoots: { discord: discord.restApi, slack: closedSlackRoot },
    });
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    failed = error;
  }
  return { lines: text.trim().split('\n'), failed };
}

async function baseEnv(home: string): Promise<Record<string, string>> {
  return {
    HERALD_HOME: home,
    HERALD_BASE_URL: upstream.url,
    HERALD_MODEL: 'scripted-model',
    HERALD_API_KEY: 'sk-up',
    API_SERVER_PORT: String(await unusedLoopbackPort()),
  };
}

const toolCall = { toolCalls: [{ name: 'get_time', arguments: {} }] };

describe('herald doctor', () => {
  test('every check passes, one line each', async () => {
    const home = tempHome();
    writeFileSync(join(home, 'herald.db'), Buffer.alloc(3 * 1024));
    upstream.enqueue(toolCall);
    const { lines, failed } = await doctor({
      ...(await baseEnv(home)),
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      DISCORD_BOT_TOKEN: 'discord-token',
    });
    assert.equal(failed, undefined, lines.join('\n'));
    assert.ok(
      lines.every((line) => line.startsWith('✓ ')),
      lines.join('\n'),
    );
    const text = lines.join('\n');
    assert.match(text, /^✓ config: .*config\.yaml is valid \(config_version 2\)$/m);
    assert.match(text, /^✓ upstream: reachable, key accepted, 1 models listed$/m);
    assert.match(text, /^✓ tool calling: scripted-model called the probe tool$/m);
    assert.match(text, /^✓ api server: 127\.0\.0\.1:\d+ is free$/m);
    assert.match(text, /^✓ store: .*herald\.db is writable, 3\.0 KB$/m);
    assert.match(text, /^✓ telegram: token accepted \(@herald_test_bot\)$/m);
    assert.match(text, /^✓ discord: token accepted \(herald\)$/m);
    assert.match(text, /^✓ node: v\d+/m);
    const probe = upstream.requests.at(-1)!;
    assert.equal(probe.body.tools[0].function.name, 'get_time');
    assert.equal(probe.headers['authorization'], 'Bearer sk-up');
  });

  test('each failure is a ✗ line with its fix, and the command fails counting them', async () => {
    const home = tempHome();
    mkdirSync(join(home, 'whatsapp'));
    writeFileSync(
      join(home, 'config.yaml'),
      'config_version: 2\nplatforms:\n  whatsapp:\n    enabled: true\n',
    );
    upstream.enqueue({ text: 'It is noon.' });
    const { lines, failed } = await doctor({
      ...(await baseEnv(home)),
      TELEGRAM_BOT_TOKEN: '1:not-the-token',
      TELEGRAM_API_ROOT: telegram.apiRoot,
      SLACK_BOT_TOKEN: 'xoxb-no-app-token',
      DISCORD_BOT_TOKEN: 'revoked',
    });
    const text = lines.join('\n');
    assert.match(
      text,
      /^✗ tool calling: the model answered without calling the offered tool — fix: pick a model/m,
    );
    assert.match(
      text,
      /^✗ telegram: the token was rejected \(Not Found \(HTTP 404\)\) — fix: set a new TELEGRAM_BOT_TOKEN/m,
    );
    assert.match(text, /^✗ slack: no app-level token — fix: set SLACK_APP_TOKEN/m);
    assert.match(text, /^✗ whatsapp: not linked — fix: run `herald whatsapp link`/m);
    assert.match(
      text,
      /^✗ slack: could not reach the API \(127\.0\.0\.1:\d+: ECONNREFUSED\) — fix: check the network/m,
    );
    assert.equal(failed?.code, 'doctor_failed');
    assert.match(
      failed!.message,
      new RegExp(`^${lines.filter((l) => l.startsWith('✗')).length} checks failed\\.$`),
    );
  });

  test('an unreachable upstream and a rejected Discord token', async () => {
    const home = tempHome();
    discord.failNext('GET', /^\/users\/@me$/, {
      status: 401,
      body: { message: '401: Unauthorized', code: 0 },
    });
    const { lines, failed } = await doctor({
      ...(await baseEnv(home)),
      HERALD_BASE_URL: `http://127.0.0.1:${await unusedLoopbackPort()}/v1`,
      DISCORD_BOT_TOKEN: 'revoked',
    });
    const text = lines.join('\n');
    assert.match(text, /^✗ upstream: GET .*ECONNREFUSED.* — fix: check model\.base_url and the key/m);
    assert.doesNotMatch(text, /tool calling/);
    assert.match(text, /^✗ discord: the token was rejected \(401: Unauthorized \(HTTP 401\)\)/m);
    assert.equal(failed?.message, '2 checks failed.');
  });

  test('checks the Matrix token with whoami and the Mattermost token with users/me', async () => {
    const matrix = await startFakeMatrixHomeserver();
    const mattermost = await startFakeMattermostApi();
    try {
      const env = {
        ...(await baseEnv(tempHome())),
        MATRIX_HOMESERVER: matrix.baseUrl,
        MATRIX_ACCESS_TOKEN: matrix.accessToken,
        MATTERMOST_URL: mattermost.url,
        MATTERMOST_TOKEN: mattermost.token,
      };
      const ok = (await doctor(env, { probe: false })).lines;
      assert.ok(ok.includes(`✓ matrix: token accepted (${matrix.botUserId})`), ok.join('\n'));
      assert.ok(ok.includes('✓ mattermost: token accepted (@herald)'), ok.join('\n'));
      const bad = await doctor(
        { ...env, MATRIX_ACCESS_TOKEN: 'old', MATTERMOST_TOKEN: 'old' },
        { probe: false },
      );
      const text = bad.lines.join('\n');
      assert.match(
        text,
        /^✗ matrix: the token was rejected \(Invalid access token passed\. \(HTTP 401\)\) — fix: set a new MATRIX_ACCESS_TOKEN/m,
      );
      assert.match(
        text,
        /^✗ mattermost: the token was rejected .*\(HTTP 401\)\) — fix: set a new MATTERMOST_TOKEN/m,
      );
      assert.equal(bad.failed?.message, '2 checks failed.');
    } finally {
      await Promise.all([matrix.close(), mattermost.close()]);
    }
  });

  test('--no-probe sends no chat request', async () => {
    const before = upstream.requests.length;
    const { lines, failed } = await doctor(await baseEnv(tempHome()), { probe: false });
    assert.equal(failed, undefined, lines.join('\n'));
    assert.ok(lines.includes('✓ tool calling: not probed (--no-probe)'));
    assert.equal(upstream.requests.length, before);
  });

  describe('the API port', () => {
    let holder: Server;
    let port: number;
    before(async () => {
      holder = createServer();
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
      port = (holder.address() as { port: number }).port;
    });
    after(() => holder.close());

    test('held by this HERALD_HOME serve (its lock names the port) is fine', async () => {
      const home = tempHome();
      const lock = { pid: process.pid, host: hostname(), port, started_at: new Date().toISOString() };
      writeFileSync(join(home, 'herald.lock'), JSON.stringify(lock));
      const { lines } = await doctor(
        { ...(await baseEnv(home)), API_SERVER_PORT: String(port) },
        { probe: false },
      );
      assert.ok(
        lines.includes(
          `✓ api server: herald serve (pid ${process.pid}) is already listening on 127.0.0.1:${port}`,
        ),
      );
    });

    test('held by something else fails with the fix', async () => {
      const { lines, failed } = await doctor(
        { ...(await baseEnv(tempHome())), API_SERVER_PORT: String(port) },
        { probe: false },
      );
      assert.ok(
        lines.includes(
          `✗ api server: 127.0.0.1:${port} is in use — fix: stop what uses it or set another port (API_SERVER_PORT / api_server.port)`,
        ),
      );
      assert.equal(failed?.message, '1 check failed.');
    });
  });
});
