/**
 * Bridges Bolt's and the Socket Mode client's logger interface onto Herald's pino logger, so their
 * lines land in the same structured stream under `event: slack.bolt`. Their debug lines can carry
 * payloads (message bodies), which is why nothing is promoted above the level Bolt chose.
 */
import { LogLevel, type Logger as SlackLogger } from '@slack/bolt';
import type { Logger } from '../../../logger.ts';

export function toSlackLogger(logger: Logger): SlackLogger {
  let name = 'bolt';
  const line = (parts: unknown[]) => parts.map(String).join(' ');
  return {
    debug: (...msg: unknown[]) => logger.debug({ event: 'slack.bolt', name }, line(msg)),
    info: (...msg: unknown[]) => logger.info({ event: 'slack.bolt', name }, line(msg)),
    warn: (...msg: unknown[]) => logger.warn({ event: 'slack.bolt', name }, line(msg)),
    error: (...msg: unknown[]) => logger.error({ event: 'slack.bolt', name }, line(msg)),
    // Herald's logging level is set once from config; Bolt asking to change it is ignored.
    setLevel: () => {},
    getLevel: () => toSlackLevel(logger.level),
    setName: (newName: string) => {
      name = newName;
    },
  };
}

function toSlackLevel(level: string): LogLevel {
  switch (level) {
    case 'trace':
    case 'debug':
      return LogLevel.DEBUG;
    case 'info':
      return LogLevel.INFO;
    case 'warn':
      return LogLevel.WARN;
    default:
      return LogLevel.ERROR;
  }
}
