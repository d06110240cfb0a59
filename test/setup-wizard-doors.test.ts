/**
 * The `herald setup` wizard's entries for Matrix, Mattermost, DingTalk and email, driven through the
 * scripted prompter against the local fakes (Matrix homeserver, Mattermost API, DingTalk API) and real
 * mail servers on loopback (Dovecot, smtp-server): a refused credential is asked again (a Matrix
 * password login included), secrets land in .env and the rest in config.yaml.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runSetup } from '../src/cli/setup.ts';
import { loadConfig } from '../src/config/index.ts';
import { DovecotServer, dovecotSkipReason } from './support/dovecot-server.ts';
import { FakeDingTalkApi } from './support/fake-dingtalk-api.ts';
import { startFakeMatrixHomeserver } from './support/fake-matrix-homeserver.ts';
import { startFakeMattermostApi } from './support/fake-mattermost-api.ts';
import { type ScriptedAnswer, ScriptedPrompter } from './support/scripted-prompter.ts';
import { SmtpSink } from './support/smtp-sink.ts';

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A home with a model already set, so the wizard's model step is one question. */
function tempHome(extraYaml = ''): string {
  const home = mkdtempSync(join(tmpdir(), 'herald-wizard-doors-'));
  roots.push(home);
  writeFileSync(
    join(home, 'config.yaml'),
    `config_version: 2\nmodel:\n  base_url: http://127.0.0.1:1/v1\n  model: m\n${extraYaml}`,
  );
  return home;
}

/** The wizard with `doors` chosen and `answers` for them; the other steps kept as they are. */
async function wizard(home: string, doors: string[], answers: ScriptedAnswer[]) {
  const prompter = new ScriptedPrompter([
    [/Keep the model m at/, true],
    [/Serve the OpenAI-compatible API/, false],
    [/Which chat platforms/, doors],
    ...answers,
    [/Which tools may requests to the API use/, 'full'],
    [/Who do tool commands run as/, 'auto'],
  ]);
  await runSetup(loadConfig({ home, env: {} }), { prompter, env: {} });
  prompter.assertDone();
  return { shown: prompter.shown.join('\n'), env: readFileSync(join(home, '.env'), 'utf8') };
}

describe('setup wizard: Matrix, Mattermost, DingTalk and email', () => {
  test('checks each live, asks again when refused, and saves secrets to .env', async (t) => {
    const matrix = await startFakeMatrixHomeserver();
    const mattermost = await startFakeMattermostApi();
    const dingtalk = await FakeDingTalkApi.start();
    t.after(() => Promise.all([matrix.close(), mattermost.close(), dingtalk.close()]));
    const home = tempHome(`platforms:\n  dingtalk:\n    api_root: ${dingtalk.apiRoot}\n`);
    const { shown, env } = await wizard(
      home,
      ['matrix', 'mattermost', 'dingtalk'],
      [
        [/Matrix homeserver URL/, matrix.baseUrl],
        [/How does the bot account sign in/, 'token'],
        [/Matrix access token/, 'wrong-token'],
        [/Matrix user ids allowed/, '@alice:fake.test'],
        [/Matrix refused\. Enter the details again/, true],
        [/Matrix homeserver URL/, matrix.baseUrl],
        [/How does the bot account sign in/, 'password'],
        [/Bot user id/, matrix.botUserId],
        [/Bot password/, 'wrong-password'],
        [/Matrix user ids allowed/, '@alice:fake.test'],
        [/Matrix refused\. Enter the details again/, true],
        [/Matrix homeserver URL/, matrix.baseUrl],
        [/How does the bot account sign in/, 'token'],
        [/Matrix access token/, matrix.accessToken],
        [/Matrix user ids allowed/, '@alice:fake.test, @bob:fake.test'],
        [/Mattermost server URL/, mattermost.url],
        [/Mattermost bot token/, mattermost.token],
        [/Mattermost user ids allowed/, 'aliceuserid000000000000000'],
        [/DingTalk app Client ID/, dingtalk.clientId],
        [/DingTalk app Client Secret/, 'wrong-secret'],
        [/DingTalk staff ids allowed/, 'staff-1'],
        [/DingTalk refused\. Enter the details again/, true],
        [/DingTalk app Client ID/, dingtalk.clientId],
        [/DingTalk app Client Secret/, dingtalk.clientSecret],
        [/DingTalk staff ids allowed/, 'staff-1'],
      ],
    );
    assert.match(shown, /Matrix rejected the access token: Invalid access token passed\. \(HTTP 401\)/);
    assert.match(shown, /Matrix rejected the password login: Invalid username or password \(HTTP 403\)/);
    assert.match(shown, /Matrix access token accepted: @herald:fake\.test/);
    assert.match(shown, /Mattermost token accepted: @herald/);
    assert.match(shown, /DingTalk rejected the app credentials/);
    assert.match(shown, /DingTalk app credentials accepted: ding-test-app/);

    const { config } = loadConfig({ home, env: {} });
    assert.equal(config.platforms.matrix.homeserver, matrix.baseUrl);
    assert.equal(config.platforms.matrix.access_token, matrix.accessToken);
    assert.equal(config.platforms.matrix.user_id, matrix.botUserId);
    assert.equal(config.platforms.matrix.password, undefined, 'a password is never saved once checked');
    assert.deepEqual(config.platforms.matrix.allowed_users, ['@alice:fake.test', '@bob:fake.test']);
    assert.equal(config.platforms.mattermost.token, mattermost.token);
    assert.deepEqual(config.platforms.mattermost.allowed_users, ['aliceuserid000000000000000']);
    assert.equal(config.platforms.dingtalk.client_secret, dingtalk.clientSecret);
    assert.deepEqual(config.platforms.dingtalk.allowed_users, ['staff-1']);
    for (const name of ['MATRIX_ACCESS_TOKEN', 'MATTERMOST_TOKEN', 'DINGTALK_CLIENT_SECRET'])
      assert.match(env, new RegExp(`^${name}=`, 'm'));
    const yaml = readFileSync(join(home, 'config.yaml'), 'utf8');
    assert.doesNotMatch(
      yaml,
      new RegExp(`${matrix.accessToken}|${mattermost.token}|${dingtalk.clientSecret}`),
    );
    assert.match(yaml, /client_id: ding-test-app/);
  });

  test('email: an IMAP login and an SMTP verify against real servers', {
    skip: dovecotSkipReason(),
  }, async (t) => {
    const dovecot = await DovecotServer.start(['bot@herald.test']);
    const smtp = await SmtpSink.start();
    t.after(async () => {
      await dovecot.close();
      await smtp.close();
    });
    const home = tempHome();
    const mailAnswers = (imapPassword: string): ScriptedAnswer[] => [
      [/bot's email address/, 'bot@herald.test'],
      [/IMAP \(incoming mail\) server/, '127.0.0.1'],
      [/IMAP .*implicit TLS/, false],
      [/IMAP .* port/, String(dovecot.port)],
      [/IMAP .* login/, 'bot@herald.test'],
      [/IMAP .* password/, imapPassword],
      [/SMTP \(outgoing mail\) server/, '127.0.0.1'],
      [/SMTP .*implicit TLS/, false],
      [/SMTP .* port/, String(smtp.port)],
      [/SMTP .* login/, 'bot@herald.test'],
      [/SMTP .* password/, ''],
      [/whose mail is answered/, 'Ann@Example.org, @herald.test'],
    ];
    const { shown, env } = await wizard(
      home,
      ['email'],
      [
        ...mailAnswers('wrong'),
        [/Email refused\. Enter the details again/, true],
        ...mailAnswers(dovecot.password),
      ],
    );
    assert.match(shown, /Email rejected the IMAP login/);
    assert.match(shown, /Email IMAP login accepted: bot@herald\.test at 127\.0\.0\.1:\d+, INBOX opened/);
    assert.match(shown, /Email SMTP login accepted/);
    const { config } = loadConfig({ home, env: {} });
    const { email } = config.platforms;
    assert.equal(email.address, 'bot@herald.test');
    assert.deepEqual(
      [email.imap.host, email.imap.port, email.imap.tls, email.imap.password],
      ['127.0.0.1', dovecot.port, false, dovecot.password],
    );
    assert.equal(email.smtp.password, dovecot.password, 'an empty SMTP password is the IMAP one');
    assert.deepEqual(email.allowed_senders, ['ann@example.org', '@herald.test']);
    assert.match(env, /^EMAIL_IMAP_PASSWORD=/m);
    assert.match(env, /^EMAIL_SMTP_PASSWORD=/m);
  });
});
