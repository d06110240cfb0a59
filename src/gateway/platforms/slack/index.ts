/**
 * Front door of the Slack adapter: the composition root builds a `SlackPlatform` when both Slack
 * tokens are configured. Nothing else in the folder is meant to be imported from outside.
 */
export { countSlackLength } from './slack-limits.ts';
export { toSlackMrkdwn } from './slack-mrkdwn.ts';
export { SlackPlatform, type SlackPlatformOptions } from './slack-platform.ts';
