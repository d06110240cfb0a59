/**
 * The one place where an error ending a `herald` command becomes what the user sees and the exit
 * status: a single line on stderr (the stack only with `--debug`), 2 for a bad config, 130 for a run
 * cancelled with Ctrl-C, 1 for everything else. Commander's own usage errors were already printed by
 * commander and keep its exit code.
 */
export interface ExitReport {
  exitCode: number;
  /** What to print on stderr, or undefined when nothing should be printed. */
  message: string | undefined;
}

export function describeExit(error: unknown, options: { debug: boolean }): ExitReport {
  const code = errorCode(error);
  // Commander already printed its usage error or help; keep its exit code. (Checked by shape, not
  // instanceof, so this module does not load commander.)
  if (code?.startsWith('commander.') && error instanceof Error && 'exitCode' in error) {
    return { exitCode: Number(error.exitCode), message: undefined };
  }
  const exitCode = code === 'config_invalid' ? 2 : code === 'aborted' ? 130 : 1;
  if (options.debug && error instanceof Error && error.stack) return { exitCode, message: fullStack(error) };
  return { exitCode, message: `herald: ${oneLine(error)}` };
}

/** Prints the report for `error` on `stderr` and returns the exit code to use. */
export function handleExit(
  error: unknown,
  options: { debug: boolean; stderr?: NodeJS.WritableStream },
): number {
  const report = describeExit(error, options);
  if (report.message) (options.stderr ?? process.stderr).write(`${report.message}\n`);
  return report.exitCode;
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const first = message.split('\n').find((line) => line.trim().length > 0) ?? 'unknown error';
  return first.trim();
}

/** The stack plus each `cause`, for `--debug`. */
function fullStack(error: Error): string {
  const parts = [error.stack ?? error.message];
  let cause = error.cause;
  while (cause instanceof Error) {
    parts.push(`Caused by: ${cause.stack ?? cause.message}`);
    cause = cause.cause;
  }
  return parts.join('\n');
}
