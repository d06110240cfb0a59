/**
 * The `herald doctor` checks of the email and DingTalk doors, when configured: an IMAP login (and the
 * mailbox exists) plus an SMTP `verify`, and a DingTalk app access-token fetch — the same checks
 * `herald setup` runs (mail-and-dingtalk-checks.ts), reported as doctor lines with the fix. It never
 * sends mail or messages.
 */
import type { HeraldConfig } from '../config/index.ts';
import { checkDingTalkCredentials, checkImapLogin, checkSmtpLogin } from './mail-and-dingtalk-checks.ts';

type Report = (ok: boolean, line: string) => void;

export async function checkEmailAndDingTalk(config: HeraldConfig, report: Report): Promise<void> {
  const { email, dingtalk } = config.platforms;
  const { imap, smtp } = email;
  if (email.enabled !== false && imap.host && imap.user) {
    const check = await checkImapLogin(email);
    if (check.status === 'valid') report(true, `email: IMAP login to ${check.identity}`);
    else
      report(
        false,
        `email: IMAP ${imap.host}:${imap.port}: ${check.reason} — fix: check EMAIL_IMAP_* (host, port, tls, user, password)`,
      );
  }
  if (email.enabled !== false && smtp.host) {
    const check = await checkSmtpLogin(smtp);
    if (check.status === 'valid') report(true, `email: SMTP ${check.identity} accepts the login`);
    else
      report(
        false,
        `email: SMTP ${smtp.host}:${smtp.port}: ${check.reason} — fix: check EMAIL_SMTP_* (host, port, tls, user, password)`,
      );
    if (!email.address)
      report(false, 'email: no From address — fix: set EMAIL_ADDRESS or platforms.email.address');
  }
  if (dingtalk.enabled !== false && dingtalk.client_id && dingtalk.client_secret) {
    const check = await checkDingTalkCredentials(dingtalk);
    if (check.status === 'valid') report(true, `dingtalk: app credentials accepted (${dingtalk.client_id})`);
    else
      report(false, `dingtalk: ${check.reason} — fix: check DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET`);
  }
}
