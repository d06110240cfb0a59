/**
 * Bridges matrix-js-sdk's logger interface onto Herald's pino logger under `event: matrix.sdk`. The
 * SDK is chatty (it warns about every default push rule a server omits, logs each sync), so its
 * info and warn lines go to debug and only its errors to warn; Herald logs what matters to an
 * operator (login, joins, refusals) itself.
 */
import type { Logger as SdkLogger } from 'matrix-js-sdk/lib/logger.js';
import type { Logger } from '../../../logger.ts';

export function toMatrixLogger(logger: Logger, namespace = 'matrix'): SdkLogger {
  const line = (parts: unknown[]) =>
    parts.map((part) => (part instanceof Error ? part.message : String(part))).join(' ');
  return {
    trace: (...msg: unknown[]) => logger.trace({ event: 'matrix.sdk', namespace }, line(msg)),
    debug: (...msg: unknown[]) => logger.debug({ event: 'matrix.sdk', namespace }, line(msg)),
    info: (...msg: unknown[]) => logger.debug({ event: 'matrix.sdk', namespace }, line(msg)),
    warn: (...msg: unknown[]) => logger.debug({ event: 'matrix.sdk', namespace }, line(msg)),
    error: (...msg: unknown[]) => logger.warn({ event: 'matrix.sdk', namespace }, line(msg)),
    getChild: (child: string) => toMatrixLogger(logger, `${namespace}.${child}`),
  };
}
