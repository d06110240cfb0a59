/** The email platform's front door. */
export {
  createImapClient,
  type EmailConfig,
  EmailPlatform,
  type EmailPlatformOptions,
} from './email-platform.ts';
