/**
 * The `herald doctor` checks of the email and DingTalk doors, when configured: an IMAP login (and the
 * mailbox exists) plus an SMTP `verify` (connect + login), and a DingTalk app access-token fetch
 * (which proves the client id and secret). The libraries are imported only when their door is set up.
 * It reports lines through the doctor's `report` callback and never sends mail or messages.
 */
import type { HeraldConfig } from '../config/index.ts';

type Report = (ok: boolean, line: string) => void;

export async function checkEmailAndDingTalk(config: HeraldConfig, report: Report): Promise<void> {
  const { email, dingtalk } = config.platforms;
  if (email.enabled !== false && email.imap.host && email.imap.user) await checkImap(email, report);
  if (email.enabled !== false && email.smtp.host) await checkSmtp(email, report);
  if (dingtalk.enabled !== false && dingtalk.client_id && dingtalk.client_secret) {
    const { DingTalkApi } = await import('../gateway/platforms/dingtalk/index.ts');
    const api = new DingTalkApi({
      apiRoot: dingtalk.api_root,
      clientId: dingtalk.client_id,
      clientSecret: dingtalk.client_secret,
    });
    try {
      await api.accessToken();
      report(true, `dingtalk: app credentials accepted (${dingtalk.client_id})`);
    } catch (error) {
      report(false, `dingtalk: ${reason(error)} — fix: check DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET`);
    }
  }
}

type EmailConfig = HeraldConfig['platforms']['email'];

async function checkImap(email: EmailConfig, report: Report): Promise<void> {
  const { createImapClient } = await import('../gateway/platforms/email/index.ts');
  const { imap } = email;
  const client = createImapClient(imap);
  try {
    await client.connect();
    await client.mailboxOpen(email.mailbox, { readOnly: true });
    report(true, `email: IMAP login to ${imap.host}:${imap.port} as ${imap.user}, ${email.mailbox} opened`);
    await client.logout();
  } catch (error) {
    client.close();
    report(
      false,
      `email: IMAP ${imap.host}:${imap.port}: ${reason(error)} — fix: check EMAIL_IMAP_* (host, port, tls, user, password)`,
    );
  }
}

async function checkSmtp(email: EmailConfig, report: Report): Promise<void> {
  const { createTransport } = await import('nodemailer');
  const { smtp } = email;
  const transport = createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.tls,
    ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
  });
  try {
    await transport.verify();
    report(true, `email: SMTP ${smtp.host}:${smtp.port} accepts the login`);
  } catch (error) {
    report(
      false,
      `email: SMTP ${smtp.host}:${smtp.port}: ${reason(error)} — fix: check EMAIL_SMTP_* (host, port, tls, user, password)`,
    );
  } finally {
    transport.close();
  }
  if (!email.address)
    report(false, 'email: no From address — fix: set EMAIL_ADDRESS or platforms.email.address');
}

function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const response = (error as { responseText?: unknown }).responseText;
  return typeof response === 'string' && response ? `${error.message} (${response})` : error.message;
}
