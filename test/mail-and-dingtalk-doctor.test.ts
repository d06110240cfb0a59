/**
 * `herald doctor`'s email and DingTalk checks against real servers on loopback: Dovecot (IMAP login),
 * smtp-server (SMTP verify) and the fake DingTalk API (token fetch), each with good and bad credentials.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkEmailAndDingTalk } from '../src/cli/mail-and-dingtalk-doctor.ts';
import { configSchema, type HeraldConfig } from '../src/config/index.ts';
import { DovecotServer, dovecotSkipReason } from './support/dovecot-server.ts';
import { FakeDingTalkApi } from './support/fake-dingtalk-api.ts';
import { SmtpSink } from './support/smtp-sink.ts';

async function run(platforms: Record<string, unknown>): Promise<[boolean, string][]> {
  const config = { ...configSchema.parse({ platforms }), home: '/nonexistent' } as HeraldConfig;
  const lines: [boolean, string][] = [];
  await checkEmailAndDingTalk(config, (ok, line) => lines.push([ok, line]));
  return lines;
}

describe('doctor checks of email and DingTalk', () => {
  it('fetches a DingTalk token with the app credentials and reports a refusal', async () => {
    const api = await FakeDingTalkApi.start();
    try {
      const good = await run({
        dingtalk: { client_id: api.clientId, client_secret: api.clientSecret, api_root: api.apiRoot },
      });
      assert.deepEqual(good, [[true, `dingtalk: app credentials accepted (${api.clientId})`]]);
      const refused = await run({
        dingtalk: { client_id: api.clientId, client_secret: 'wrong', api_root: api.apiRoot },
      });
      assert.equal(refused[0]![0], false);
      assert.match(refused[0]![1], /clientSecret.*fix: check DINGTALK_CLIENT_ID/);
      await api.close();
      const down = await run({
        dingtalk: { client_id: api.clientId, client_secret: 'x', api_root: api.apiRoot },
      });
      assert.equal(down[0]![0], false);
      assert.match(down[0]![1], /fix: check DINGTALK_CLIENT_ID/);
    } finally {
      await api.close().catch(() => {});
    }
  });

  it('logs in over IMAP and verifies SMTP', { skip: dovecotSkipReason() }, async () => {
    const dovecot = await DovecotServer.start(['doctor@herald.test']);
    const smtp = await SmtpSink.start();
    try {
      const email = (password: string) => ({
        address: 'doctor@herald.test',
        imap: { host: '127.0.0.1', port: dovecot.port, user: 'doctor@herald.test', password, tls: false },
        smtp: { host: '127.0.0.1', port: smtp.port, tls: false },
      });
      const good = await run({ email: email(dovecot.password) });
      assert.deepEqual(
        good.map(([ok]) => ok),
        [true, true],
        JSON.stringify(good),
      );
      const bad = await run({ email: email('wrong') });
      assert.equal(bad[0]![0], false);
      assert.match(bad[0]![1], /email: IMAP .*fix: check EMAIL_IMAP_/);
    } finally {
      await dovecot.close();
      await smtp.close();
    }
  });
});
