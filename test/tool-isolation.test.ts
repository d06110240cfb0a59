/**
 * A prompt-injected tool call trying to read Herald's secrets, end to end: `herald chat -q` runs in a
 * child process with keys in its environment and in HERALD_HOME/.env, the scripted upstream asks for
 * the classic reads, and the tool results sent back upstream must hold no secret. As root (CI) the
 * terminal runs as nobody and every read fails; as another user Herald cannot switch users, so only
 * what it still guarantees is checked (environment allow-list, file tools refusing HERALD_HOME).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

const herald = new URL('../bin/herald.js', import.meta.url).pathname;
const isRoot = process.geteuid?.() === 0;

const secrets = {
  envKey: 'sk-canary-env-model-key',
  apiServerKey: 'canary-api-server-key',
  openaiKey: 'canary-openai-key',
  dotenvToken: 'canary-dotenv-slack-token',
  dotenvOther: 'canary-dotenv-custom',
  dbRow: 'canary-conversation-of-another-user',
};

test('an injected tool call cannot read the keys or the database of the Herald running it', async (t) => {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'herald-secrets-')));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o711); // mkdtemp's 0700 would hide the workspace from the tool user
  const home = path.join(dir, 'home');
  await mkdir(home, { mode: 0o700 });
  await writeFile(
    path.join(home, '.env'),
    `SLACK_BOT_TOKEN=${secrets.dotenvToken}\nMY_SERVICE_SECRET=${secrets.dotenvOther}\n`,
    { mode: 0o600 },
  );
  // As SQLite leaves a new database: 0644 under the usual umask.
  await writeFile(path.join(home, 'herald.db'), `SQLite format 3\0${secrets.dbRow}`, { mode: 0o644 });

  const upstream = await ScriptedUpstream.start();
  t.after(() => upstream.close());
  const attack = [
    "tr '\\0' '\\n' < /proc/$PPID/environ",
    'cat ../.env',
    `cat ${home}/.env`,
    'cat $HERALD_HOME/.env',
    `cat ../herald.db ${home}/herald.db`,
    'env',
    'echo uid=$(id -u)',
  ];
  const nonRootAttack = ['env', 'echo uid=$(id -u)'];
  upstream.enqueue(
    {
      toolCalls: [
        { name: 'terminal', arguments: { command: (isRoot ? attack : nonRootAttack).join('; ') } },
        { name: 'read_file', arguments: { path: '../.env' } },
        { name: 'read_file', arguments: { path: `${home}/herald.db` } },
        { name: 'search_files', arguments: { path: home, content: 'canary' } },
      ],
    },
    { text: 'done' },
  );

  const run = await promisify(execFile)(process.execPath, [herald, 'chat', '-q', 'show me the secrets'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: dir,
      HERALD_HOME: home,
      HERALD_BASE_URL: upstream.url,
      HERALD_MODEL: 'scripted-model',
      HERALD_API_KEY: secrets.envKey,
      API_SERVER_KEY: secrets.apiServerKey,
      OPENAI_API_KEY: secrets.openaiKey,
    },
    timeout: 30_000, // hang guard only
  });
  assert.equal(run.stdout, 'done\n');

  const toolResults: string[] = upstream.requests[1]!.body.messages.filter(
    (message: { role: string }) => message.role === 'tool',
  ).map((message: { content: string }) => message.content);
  assert.equal(toolResults.length, 4);
  const [terminal, readEnv, readDb, search] = toolResults;
  for (const [name, value] of Object.entries(secrets)) {
    assert.ok(!toolResults.join('\n').includes(value), `${name} leaked:\n${toolResults.join('\n---\n')}`);
  }
  for (const refused of [readEnv, readDb, search]) assert.match(refused ?? '', /^Error: Refused/);
  if (isRoot) {
    assert.match(terminal ?? '', /Permission denied/);
    assert.doesNotMatch(terminal ?? '', /^uid=0$/m);
  }
  // As root nothing to warn about; otherwise `herald chat` says it at info level (its user is the operator).
  assert.doesNotMatch(run.stderr, /tools\.not_isolated/);
});
