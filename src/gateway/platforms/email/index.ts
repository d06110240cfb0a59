/** The email platform's front door. */
export { type EmailConfig, EmailPlatform, type EmailPlatformOptions } from './email-platform.ts';
