/**
 * The `terminal` tool: runs a shell command in the workspace and reports its output and how it ended.
 * A non-zero exit is an ordinary result the model should read, not an error. Process-group killing,
 * timeouts and output capping live in `runShellCommand`; this file is the model-facing contract.
 * It does not sandbox the command: the workspace is its working directory, not a jail; what keeps it
 * from Herald's secrets is its environment allow-list and, when Herald is root, another user.
 */
import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { ToolError } from './errors.ts';
import { runShellCommand, type ShellResult } from './run-shell-command.ts';
import type { ToolUser } from './tool-user.ts';
import type { Tool } from './types.ts';

const terminalArgs = z.object({
  command: z
    .string()
    .min(1)
    .describe('Shell command to run with bash -c in the workspace directory. stdin is closed.'),
  timeout_s: z
    .number()
    .positive()
    .optional()
    .describe('Seconds before the command is killed; capped by (and defaulting to) the configured maximum.'),
});

export type TerminalArgs = z.infer<typeof terminalArgs>;

const isDirectory = (dir: string): Promise<boolean> =>
  stat(dir).then(
    (stats) => stats.isDirectory(),
    () => false,
  );

function describeEnd(result: ShellResult, timeoutS: number): string {
  if (result.stoppedBy === 'timeout')
    return `[timed out after ${timeoutS} s; the command and its children were killed]`;
  if (result.stoppedBy === 'abort') return '[cancelled; the command and its children were killed]';
  const end = result.signal ? `[killed by signal ${result.signal}]` : `[exit code ${result.exitCode}]`;
  return result.detachedBackground
    ? `${end}\n[background processes are still running; their further output is not captured]`
    : end;
}

export interface TerminalToolOptions {
  /** The user commands run as (from `tools.run_as`, resolved at startup); undefined = Herald's own. */
  user?: ToolUser;
}

export function createTerminalTool(options: TerminalToolOptions = {}): Tool<TerminalArgs> {
  return {
    name: 'terminal',
    description:
      'Run a shell command in the workspace and return its combined stdout/stderr and exit code. ' +
      'Use for builds, tests, git, package managers and inspecting the system. Long output is truncated ' +
      'in the middle; commands are killed at the timeout.',
    schema: terminalArgs,
    label: (args) => {
      const firstLine = args.command.split('\n', 1)[0] ?? '';
      if (firstLine.length > 60) return `terminal: ${firstLine.slice(0, 59)}…`;
      return `terminal: ${firstLine}${firstLine === args.command ? '' : ' …'}`;
    },
    async execute(args, ctx) {
      const limits = ctx.config.terminal;
      const timeoutS = Math.min(args.timeout_s ?? limits.timeout_s, limits.timeout_s);
      // Checked first because spawn reports a missing cwd as the shell itself missing (ENOENT).
      if (!(await isDirectory(ctx.cwd))) {
        throw new ToolError('not_found', `The workspace directory ${ctx.cwd} does not exist.`);
      }
      const result = await runShellCommand(args.command, {
        cwd: ctx.cwd,
        timeoutMs: timeoutS * 1000,
        maxOutputChars: limits.max_output_chars,
        signal: ctx.signal,
        extraEnv: limits.env,
        user: options.user,
      });
      const output = result.output === '' ? '(no output)\n' : result.output;
      return `${output}${output.endsWith('\n') ? '' : '\n'}${describeEnd(result, timeoutS)}`;
    },
  };
}
