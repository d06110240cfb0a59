/**
 * The `herald` command driven as a user runs it: `node bin/herald.js …` in a child process with
 * HERALD_HOME in a temp dir and a clean environment, against the scripted upstream on loopback.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import { runHerald } from './support/run-herald.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

const packageVersion = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tempHome(): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-cli-'));
  roots.push(dir);
  return dir;
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.length > 0);
}

describe('herald without a model', () => {
  test('--version prints the package version', async () => {
    const run = await runHerald(['--version'], { HERALD_HOME: tempHome() });
    assert.equal(run.code, 0);
    assert.equal(run.stdout.trim(), packageVersion);
  });

  test('--help lists the commands', async () => {
    const run = await runHerald(['--help'], { HERALD_HOME: tempHome() });
    assert.equal(run.code, 0);
    for (const command of ['serve', 'chat', 'setup', 'config', 'doctor'])
      assert.match(run.stdout, new RegExp(`\\b${command}\\b`));
  });

  test('config show creates config.yaml on first run and prints masked values with sources', async () => {
    const home = tempHome();
    const run = await runHerald(['config', 'show'], {
      HERALD_HOME: home,
      HERALD_API_KEY: 'sk-test-0123456789wxyz',
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /Created .*config\.yaml with the defaults/);
    assert.match(run.stdout, /api_key: "?\*\*\*\*wxyz"? {2}# env HERALD_API_KEY/);
    assert.doesNotMatch(run.stdout, /sk-test/);
    assert.match(run.stdout, /port: 8642 {2}# default/);
    assert.ok(readFileSync(join(home, 'config.yaml'), 'utf8').startsWith('# Herald configuration'));
  });

  test('config path prints where config.yaml lives', async () => {
    const home = tempHome();
    const run = await runHerald(['config', 'path'], { HERALD_HOME: home });
    assert.equal(run.code, 0);
    assert.equal(run.stdout.trim(), join(home, 'config.yaml'));
  });

  test('a bad config value exits 2 with one line naming the key and its source', async () => {
    const home = tempHome();
    writeFileSync(join(home, 'config.yaml'), 'api_server:\n  port: 99999\n');
    const run = await runHerald(['config', 'show'], { HERALD_HOME: home });
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.deepEqual(lines(run.stderr), [
      `herald: Invalid config: api_server.port = 99999 (from ${join(home, 'config.yaml')}): expected an integer from 0 to 65535`,
    ]);
  });

  test('a bad env value exits 2 naming the env var', async () => {
    const run = await runHerald(['chat', '-q', 'hi'], {
      HERALD_HOME: tempHome(),
      API_SERVER_ENABLED: 'perhaps',
    });
    assert.equal(run.code, 2);
    assert.match(
      lines(run.stderr).at(-1) ?? '',
      /api_server\.enabled = "perhaps" \(from env API_SERVER_ENABLED\): expected true or false$/,
    );
  });

  test('chat -q with no model exits 1 with a one-line reason and no stack', async () => {
    const home = tempHome();
    writeFileSync(join(home, 'config.yaml'), '');
    const run = await runHerald(['chat', '-q', 'hello'], { HERALD_HOME: home });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    const errorLines = lines(run.stderr);
    assert.equal(errorLines.length, 1, run.stderr);
    assert.match(
      errorLines[0]!,
      /^herald: No upstream model is configured\. Run `herald setup`.*HERALD_BASE_URL/,
    );
  });

  test('interactive chat with only a key and a model names the default upstream it will use', async () => {
    // `/exit` ends the conversation before any model call, so nothing leaves loopback.
    const run = await runHerald(
      ['chat'],
      { HERALD_HOME: tempHome(), HERALD_API_KEY: 'sk-only-a-key', HERALD_MODEL: 'gpt-test' },
      { stdin: '/exit\n' },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Herald · gpt-test at https:\/\/api\.openai\.com\/v1$/m);
  });

  test('--debug adds the stack trace', async () => {
    const home = tempHome();
    writeFileSync(join(home, 'config.yaml'), '');
    const run = await runHerald(['--debug', 'chat', '-q', 'hello'], { HERALD_HOME: home });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /ModelError: No upstream model is configured/);
    assert.match(run.stderr, /\n\s+at /);
  });

  test('setup without a terminal exits 1 saying how to configure instead', async () => {
    const run = await runHerald(['setup'], { HERALD_HOME: tempHome() });
    assert.equal(run.code, 1);
    assert.match(
      lines(run.stderr).at(-1) ?? '',
      /^herald: herald setup needs a terminal; use `herald setup --non-interactive`/,
    );
  });

  test('doctor reports the missing model and fails', async () => {
    const run = await runHerald(['doctor'], { HERALD_HOME: tempHome(), API_SERVER_PORT: '0' });
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^✓ config: .* is valid \(config_version 2\)$/m);
    assert.match(run.stdout, /^✗ model: No upstream model is configured\. Run `herald setup`/m);
    assert.match(run.stdout, /^✓ api server: 127\.0\.0\.1:0 is free$/m);
  });

  test('an unknown command fails with a non-zero exit', async () => {
    const run = await runHerald(['frobnicate'], { HERALD_HOME: tempHome() });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /unknown command 'frobnicate'/);
  });
});

describe('herald against the scripted upstream', () => {
  // A fresh upstream per test, so turns one test queued but never used cannot leak into the next.
  let upstream: ScriptedUpstream;
  beforeEach(async () => {
    upstream = await ScriptedUpstream.start();
  });
  afterEach(() => upstream.close());

  const env = (home: string): Record<string, string> => upstream.heraldEnv(home);

  test('chat -q prints the answer on stdout and one progress line per tool call on stderr', async () => {
    const home = tempHome();
    const first = upstream.requests.length;
    upstream.enqueue(
      { toolCalls: [{ name: 'terminal', arguments: { command: 'echo from-the-tool' } }] },
      { text: 'The tool said hello.' },
    );
    const run = await runHerald(['chat', '-q', 'run the tool'], env(home));
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'The tool said hello.\n');
    const progress = lines(run.stderr).filter((line) => line.startsWith('⚙'));
    assert.equal(progress.length, 1, run.stderr);
    assert.match(progress[0]!, /terminal/);

    const requests = upstream.requests.slice(first);
    assert.equal(requests.length, 2);
    assert.equal(requests[0]!.body.model, 'scripted-model');
    assert.equal(requests[0]!.headers['authorization'], 'Bearer sk-scripted');
    const toolResult = requests[1]!.body.messages.find((m: { role: string }) => m.role === 'tool');
    assert.match(String(toolResult?.content), /from-the-tool/);
  });

  test('chat -q - reads the prompt from stdin', async () => {
    const first = upstream.requests.length;
    upstream.enqueue({ text: 'got it' });
    const run = await runHerald(['chat', '-q', '-'], env(tempHome()), { stdin: 'a prompt from a pipe\n' });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'got it\n');
    const messages = upstream.requests[first]!.body.messages as { role: string; content: string }[];
    assert.equal(messages.at(-1)?.content, 'a prompt from a pipe');
  });

  test('an upstream failure exits 1 with one line and no partial success', async () => {
    upstream.enqueue({
      status: 401,
      errorBody: { error: { message: 'bad key', type: 'auth', code: 'invalid_api_key' } },
    });
    const home = tempHome();
    writeFileSync(join(home, 'config.yaml'), '');
    const run = await runHerald(['chat', '-q', 'hi'], env(home));
    assert.equal(run.code, 1);
    const errorLines = lines(run.stderr);
    assert.equal(errorLines.length, 1, run.stderr);
    assert.match(errorLines[0]!, /^herald: /);
  });

  test('doctor passes when the upstream answers', async () => {
    const run = await runHerald(['doctor', '--no-probe'], { ...env(tempHome()), API_SERVER_PORT: '0' });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^✓ upstream: reachable/m);
    assert.match(run.stdout, /^✓ tool calling: not probed \(--no-probe\)$/m);
    assert.equal(lines(run.stdout).filter((line) => line.startsWith('✓')).length, 7);
  });

  test('Ctrl-C during chat -q cancels the upstream request and exits 130', async () => {
    const home = tempHome();
    writeFileSync(join(home, 'config.yaml'), '');
    const before = upstream.requests.length;
    const abortedBefore = upstream.aborted;
    upstream.enqueue({ hang: true });
    const run = await runHerald(['chat', '-q', 'wait forever'], env(home), {
      onSpawn: (child) => {
        void upstream.waitForRequests(before + 1).then(() => child.kill('SIGINT'));
      },
    });
    assert.equal(run.code, 130, run.stderr);
    assert.equal(lines(run.stderr).length, 1, run.stderr);
    // The upstream sees the connection close once the run is aborted.
    for (let i = 0; i < 100 && upstream.aborted === abortedBefore; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(upstream.aborted, abortedBefore + 1);
  });

  test('interactive chat keeps the conversation until /new', async () => {
    const first = upstream.requests.length;
    upstream.enqueue({ text: 'one' }, { text: 'two' }, { text: 'three' });
    const run = await runHerald(['chat'], env(tempHome()), {
      stdin: 'first question\nsecond question\n/new\nthird question\n/exit\n',
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /one[\s\S]*two[\s\S]*\(new conversation\)[\s\S]*three/);
    const userTurns = upstream.requests
      .slice(first)
      .map((r) =>
        (r.body.messages as { role: string; content: string }[])
          .filter((m) => m.role === 'user')
          .map((m) => m.content),
      );
    assert.deepEqual(userTurns, [
      ['first question'],
      ['first question', 'second question'],
      ['third question'],
    ]);
  });
});
