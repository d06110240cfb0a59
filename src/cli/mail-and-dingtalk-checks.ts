/**
 * Live checks of the email and DingTalk credentials, shared by `herald setup` and `herald doctor`: an
 * IMAP login that opens the watched mailbox, an SMTP `verify` (connect + login), and a DingTalk app
 * access-token fetch (which proves the client id and secret). Each answers like the token checks — the
 * server rejected the credentials, or could not be reached (they may be fine) — and never throws, logs
 * a password or sends anything. The libraries are imported only when a check runs.
 */
import type { HeraldConfig } from '../config/index.ts';
import type { TokenCheck } from './platform-token-check.ts';

type EmailConfig = HeraldConfig['platforms']['email'];
type DingTalkCredentials = Pick<
  HeraldConfig['platforms']['dingtalk'],
  'api_root' | 'client_id' | 'client_secret'
>;

/** Logs in to `email.imap` and opens `email.mailbox` read-only. */
export async function checkImapLogin(email: EmailConfig): Promise<TokenCheck> {
  const { createImapClient } = await import('../gateway/platforms/email/index.ts');
  const { imap } = email;
  const client = createImapClient(imap);
  try {
    await client.connect();
    await client.mailboxOpen(email.mailbox, { readOnly: true });
    await client.logout();
    return {
      status: 'valid',
      identity: `${imap.user} at ${imap.host}:${imap.port}, ${email.mailbox} opened`,
    };
  } catch (error) {
    client.close();
    const refused = (error as { authenticationFailed?: boolean }).authenticationFailed === true;
    return { status: refused ? 'rejected' : 'unreachable', reason: reason(error) };
  }
}

/** Connects to `smtp` and logs in when it has a user. */
export async function checkSmtpLogin(smtp: EmailConfig['smtp']): Promise<TokenCheck> {
  const { createTransport } = await import('nodemailer');
  const transport = createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.tls,
    ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
  });
  try {
    await transport.verify();
    return { status: 'valid', identity: `${smtp.host}:${smtp.port}` };
  } catch (error) {
    const refused = (error as { code?: string }).code === 'EAUTH';
    return { status: refused ? 'rejected' : 'unreachable', reason: reason(error) };
  } finally {
    transport.close();
  }
}

/** Fetches an app access token with the client id and secret. */
export async function checkDingTalkCredentials(dingtalk: DingTalkCredentials): Promise<TokenCheck> {
  const { DingTalkApi, DingTalkApiError } = await import('../gateway/platforms/dingtalk/index.ts');
  const api = new DingTalkApi({
    apiRoot: dingtalk.api_root,
    clientId: dingtalk.client_id ?? '',
    clientSecret: dingtalk.client_secret ?? '',
  });
  try {
    await api.accessToken();
    return { status: 'valid', identity: dingtalk.client_id ?? '' };
  } catch (error) {
    const refused = error instanceof DingTalkApiError && error.status >= 400 && error.status < 500;
    return { status: refused ? 'rejected' : 'unreachable', reason: reason(error) };
  }
}

function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const response = (error as { responseText?: unknown }).responseText;
  return typeof response === 'string' && response ? `${error.message} (${response})` : error.message;
}
