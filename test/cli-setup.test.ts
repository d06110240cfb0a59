/**
 * `herald setup --non-interactive` run as a script would: the real CLI (bin/herald.js) in a child
 * process with a temp HERALD_HOME, against the scripted upstream and the fake Telegram API. It checks
 * what lands in config.yaml and .env (and their modes), that a re-run keeps comments and earlier
 * settings, one-line errors with exit 1, and that the generated key is the one a started serve accepts.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { parseDocument } from 'yaml';
import { startFakeMatrixHomeserver } from './support/fake-matrix-homeserver.ts';
import { startFakeMattermostApi } from './support/fake-mattermost-api.ts';
import { FakeTelegramApi } from './support/fake-telegram-api.ts';
import { unusedLoopbackPort } from './support/loopback-server.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

const herald = new URL('../bin/herald.js', import.meta.url).pathname;
const roots: string[] = [];
const children = new Set<ChildProcessWithoutNullStreams>();
let upstream: ScriptedUpstream;
let telegram: FakeTelegramApi;

before(async () => {
  upstream = await ScriptedUpstream.start();
  telegram = await FakeTelegramApi.start();
});
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all([upstream.close(), telegram.close()]);
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tempHome(): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-setup-cli-'));
  roots.push(dir);
  return dir;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Spawns herald with only HERALD_HOME, PATH and `env`; resolves when it exits (`untilStderr`: when that appears). */
function startHerald(
  args: string[],
  home: string,
  env: Record<string, string> = {},
): { child: ChildProcessWithoutNullStreams; output: Run; exited: Promise<Run> } {
  const child = spawn(process.execPath, [herald, ...args], {
    env: { PATH: process.env['PATH'] ?? '', HOME: home, HERALD_HOME: home, ...env },
  });
  children.add(child);
  const output: Run = { code: null, stdout: '', stderr: '' };
  child.stdout.on('data', (part: Buffer) => {
    output.stdout += part.toString();
  });
  child.stderr.on('data', (part: Buffer) => {
    output.stderr += part.toString();
  });
  child.stdin.end();
  // Hang guard only.
  const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const exited = new Promise<Run>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(guard);
      children.delete(child);
      output.code = code;
      resolve(output);
    });
  });
  return { child, output, exited };
}

function runHerald(args: string[], home: string, env: Record<string, string> = {}): Promise<Run> {
  return startHerald(args, home, env).exited;
}

function setup(home: string, flags: string[], env: Record<string, string> = {}): Promise<Run> {
  return runHerald(['setup', '--non-interactive', ...flags], home, env);
}

function configOf(home: string): Record<string, unknown> {
  return parseDocument(readFileSync(join(home, 'config.yaml'), 'utf8')).toJS();
}

function envFileOf(home: string): Record<string, string> {
  const text = readFileSync(join(home, '.env'), 'utf8');
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
  );
}

describe('herald setup --non-interactive', () => {
  test('writes the model, a generated API key and the API host; secrets only in a 0600 .env', async () => {
    const home = tempHome();
    const run = await setup(home, [
      '--provider',
      'custom',
      '--base-url',
      upstream.url,
      '--api-key',
      'sk-upstream-secret',
      '--model',
      'scripted-model',
      '--api-server-key',
      'generate',
      '--api-server-host',
      '0.0.0.0',
      '--api-tools',
      'read-only',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const key = /API key \(shown once[^:]*\): (\S+)/.exec(run.stdout)?.[1];
    assert.ok(key && key.length >= 40, run.stdout);
    assert.match(run.stdout, /Open WebUI: .*http:\/\/<this machine’s address>:8642\/v1/);
    assert.match(run.stdout, /The API will listen on 0\.0\.0\.0, reachable from other machines/);

    assert.deepEqual(envFileOf(home), { HERALD_API_KEY: 'sk-upstream-secret', API_SERVER_KEY: key });
    assert.equal(statSync(join(home, '.env')).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, 'config.yaml')).mode & 0o777, 0o600);
    const text = readFileSync(join(home, 'config.yaml'), 'utf8');
    assert.doesNotMatch(text, /sk-upstream-secret|sk-herald-/);
    const config = configOf(home) as {
      config_version: number;
      model: Record<string, unknown>;
      api_server: Record<string, unknown>;
      toolsets: Record<string, unknown>;
    };
    assert.equal(config.config_version, 2);
    assert.deepEqual(config.model, { base_url: upstream.url, model: 'scripted-model' });
    assert.deepEqual(config.api_server, { host: '0.0.0.0' });
    assert.deepEqual(config.toolsets, { api: ['read_file', 'search_files', 'web_fetch'] });
  });

  test('a re-run changes only what its flags name, keeping comments, settings and the key', async () => {
    const home = tempHome();
    const first = await setup(home, [
      '--base-url',
      upstream.url,
      '--model',
      'scripted-model',
      '--api-server-key',
      'generate',
    ]);
    assert.equal(first.code, 0, first.stderr);
    const key = envFileOf(home)['API_SERVER_KEY'];
    const file = join(home, 'config.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(/^model:$/m, '# my own note about the model\nmodel:'),
    );

    const second = await setup(
      home,
      [
        '--telegram-token',
        telegram.token,
        '--telegram-allowed-users',
        '111, 222',
        '--api-server-port',
        '9123',
      ],
      { TELEGRAM_API_ROOT: telegram.apiRoot },
    );
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stdout, /shown once/);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /# my own note about the model\nmodel:/);
    assert.match(text, /^# Herald configuration/);
    const config = configOf(home) as { model: unknown; api_server: unknown; platforms: unknown };
    assert.deepEqual(config.model, { base_url: upstream.url, model: 'scripted-model' });
    assert.deepEqual(config.api_server, { port: 9123 });
    assert.deepEqual(config.platforms, { telegram: { allowed_users: ['111', '222'] } });
    assert.deepEqual(envFileOf(home), { API_SERVER_KEY: key, TELEGRAM_BOT_TOKEN: telegram.token });
    assert.ok(telegram.calls.some((call) => call.method === 'getMe'));
  });

  test('a token Telegram rejects fails in one line, exit 1, and nothing is saved', async () => {
    const home = tempHome();
    const run = await setup(
      home,
      ['--telegram-token', '999:wrong', '--model', 'm', '--base-url', upstream.url],
      {
        TELEGRAM_API_ROOT: telegram.apiRoot,
      },
    );
    assert.equal(run.code, 1);
    const errors = run.stderr.split('\n').filter((line) => line.startsWith('herald:'));
    assert.deepEqual(errors.length, 1, run.stderr);
    assert.match(errors[0]!, /^herald: The telegram token was rejected: Not Found \(HTTP 404\)$/);
    assert.doesNotMatch(readFileSync(join(home, 'config.yaml'), 'utf8'), /^ {2}base_url:/m);
  });

  test('Matrix (password traded for a token) and Mattermost from flags, checked against the fakes', async (t) => {
    const matrix = await startFakeMatrixHomeserver();
    const mattermost = await startFakeMattermostApi();
    t.after(() => Promise.all([matrix.close(), mattermost.close()]));
    const home = tempHome();
    const run = await setup(home, [
      '--matrix-homeserver',
      matrix.baseUrl,
      '--matrix-user-id',
      matrix.botUserId,
      '--matrix-password',
      matrix.password,
      '--matrix-allowed-users',
      '@alice:fake.test',
      '--mattermost-url',
      mattermost.url,
      '--mattermost-token',
      mattermost.token,
      '--mattermost-allowed-users',
      'aliceuserid000000000000000,bobuserid00000000000000000',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(envFileOf(home), {
      MATRIX_ACCESS_TOKEN: matrix.accessToken,
      MATTERMOST_TOKEN: mattermost.token,
    });
    const { platforms } = configOf(home) as { platforms: Record<string, Record<string, unknown>> };
    assert.deepEqual(platforms['matrix'], {
      homeserver: matrix.baseUrl,
      user_id: matrix.botUserId,
      allowed_users: ['@alice:fake.test'],
    });
    assert.deepEqual(platforms['mattermost'], {
      url: mattermost.url,
      allowed_users: ['aliceuserid000000000000000', 'bobuserid00000000000000000'],
    });

    const refused = await setup(home, ['--mattermost-token', 'wrong']);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^herald: Mattermost rejected the token: Invalid or expired session, please login again\. \(HTTP 401\)$/m,
    );
    assert.equal(envFileOf(home)['MATTERMOST_TOKEN'], mattermost.token, 'nothing saved');
  });

  test('email flags: ports, TLS switches and senders to config.yaml, passwords to .env', async () => {
    const home = tempHome();
    const run = await setup(home, [
      '--no-check-tokens',
      '--email-address',
      'bot@example.org',
      '--email-imap-host',
      'imap.example.org',
      '--email-imap-port',
      '143',
      '--no-email-imap-tls',
      '--email-imap-user',
      'bot',
      '--email-imap-password',
      'imap-secret',
      '--email-smtp-host',
      'smtp.example.org',
      '--email-smtp-password',
      'smtp-secret',
      '--email-allowed-senders',
      'Ann@Example.org, @example.org',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(envFileOf(home), {
      EMAIL_IMAP_PASSWORD: 'imap-secret',
      EMAIL_SMTP_PASSWORD: 'smtp-secret',
    });
    const { platforms } = configOf(home) as { platforms: Record<string, unknown> };
    assert.deepEqual(platforms['email'], {
      address: 'bot@example.org',
      imap: { host: 'imap.example.org', port: 143, user: 'bot', tls: false },
      smtp: { host: 'smtp.example.org' },
      allowed_senders: ['ann@example.org', '@example.org'],
    });
  });

  for (const [flags, error] of [
    [['--email-imap-port', 'x'], /^herald: --email-imap-port x is not a port from 1 to 65535$/m],
    [['--matrix-homeserver', 'nope'], /^herald: --matrix-homeserver nope is not a URL$/m],
    [
      ['--api-server-host', '0.0.0.0'],
      /^herald: An API on 0\.0\.0\.0 needs a key: add --api-server-key generate/m,
    ],
    [['--provider', 'nope'], /^herald: Unknown --provider nope; known: openrouter, openai/m],
    [['--provider', 'openrouter', '--model', 'x'], /^herald: OpenRouter needs a key: give --api-key$/m],
    [['--api-server-port', '70000'], /^herald: --api-server-port 70000 is not a port/m],
    [['--api-tools', 'some'], /^herald: --api-tools must be one of full, read-only, none$/m],
  ] as const) {
    test(`refuses ${flags.join(' ')} with one line and exit 1`, async () => {
      const run = await setup(tempHome(), [...flags]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, error);
    });
  }

  test('the generated key is the one a started herald serve accepts', async () => {
    const home = tempHome();
    const port = await unusedLoopbackPort();
    const run = await setup(home, [
      '--base-url',
      upstream.url,
      '--model',
      'scripted-model',
      '--api-server-key',
      'generate',
      '--api-server-port',
      String(port),
    ]);
    assert.equal(run.code, 0, run.stderr);
    const key = /API key \(shown once[^:]*\): (\S+)/.exec(run.stdout)![1]!;

    const serve = startHerald(['serve'], home);
    const baseURL = `http://127.0.0.1:${port}/v1`;
    await waitFor(() => /API server listening/.test(serve.output.stderr), serve.exited);
    try {
      const client = new OpenAI({ baseURL, apiKey: key, maxRetries: 0 });
      const reply = await client.chat.completions.create({
        model: 'herald',
        messages: [{ role: 'user', content: 'hi' }],
      });
      assert.equal(reply.choices[0]?.message.content, 'ok');
      const stranger = new OpenAI({ baseURL, apiKey: 'sk-herald-not-the-key', maxRetries: 0 });
      await assert.rejects(
        stranger.models.list(),
        (error: unknown) => error instanceof OpenAI.APIError && error.status === 401,
      );
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  });
});

/** Polls `ready` until true; fails if the process exits first. */
async function waitFor(ready: () => boolean, exited: Promise<Run>): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  while (!ready()) {
    if (gone) throw new Error('herald exited before it was ready');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
