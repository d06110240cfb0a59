/**
 * Runs one shell command as its own process group and always gets it back: on timeout or abort the
 * whole group (the shell and everything it started) gets SIGTERM, then SIGKILL after a short grace, so
 * a runaway grandchild cannot outlive the tool call. Output (stdout and stderr interleaved as they
 * arrive) is kept within a character budget, head and tail. It does not interpret the command or its
 * exit status; the terminal tool formats the result for the model.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { HeadTailBuffer } from './head-tail-buffer.ts';

export interface ShellResult {
  /** Combined stdout+stderr, truncated in the middle with a note past `maxOutputChars`. */
  output: string;
  /** The shell's exit code; null when it was ended by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Why Herald stopped the command, if it did. */
  stoppedBy: 'timeout' | 'abort' | undefined;
  /** The shell exited but background processes still held its output open; they were left running. */
  detachedBackground: boolean;
}

export interface ShellOptions {
  cwd: string;
  timeoutMs: number;
  maxOutputChars: number;
  signal: AbortSignal;
  /** Time between SIGTERM and SIGKILL to the process group. */
  killGraceMs?: number;
}

/** Env vars holding Herald's own credentials; a command the model writes has no business reading them. */
const heraldSecretEnv = [
  'HERALD_API_KEY',
  'OPENAI_API_KEY',
  'OPENROUTER_API_KEY',
  'API_SERVER_KEY',
  'TELEGRAM_BOT_TOKEN',
  'DISCORD_BOT_TOKEN',
  'SLACK_BOT_TOKEN',
  'SLACK_APP_TOKEN',
];

/** How long output may keep arriving after the shell exits before background holders are ignored. */
const drainAfterExitMs = 250;

let shellPath: string | undefined;
function shell(): string {
  shellPath ??= existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';
  return shellPath;
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PAGER: 'cat', GIT_PAGER: 'cat', GIT_TERMINAL_PROMPT: '0' };
  for (const name of heraldSecretEnv) delete env[name];
  return env;
}

export function runShellCommand(command: string, options: ShellOptions): Promise<ShellResult> {
  const { cwd, timeoutMs, maxOutputChars, signal } = options;
  const killGraceMs = options.killGraceMs ?? 500;
  if (signal.aborted) {
    return Promise.resolve({
      output: '',
      exitCode: null,
      signal: null,
      stoppedBy: 'abort',
      detachedBackground: false,
    });
  }

  return new Promise((resolve, reject) => {
    // detached: the child leads a new process group, so `kill(-pid)` reaches its descendants too.
    const child = spawn(shell(), ['-c', command], {
      cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv(),
    });
    const buffer = new HeadTailBuffer(maxOutputChars);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (text: string) => buffer.push(text));
    child.stderr.on('data', (text: string) => buffer.push(text));

    let stoppedBy: ShellResult['stoppedBy'];
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    let drainTimer: NodeJS.Timeout | undefined;
    let hardStopTimer: NodeJS.Timeout | undefined;

    const killGroup = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // ESRCH: the group is already gone, which is what we wanted.
      }
    };

    const stop = (why: 'timeout' | 'abort'): void => {
      if (stoppedBy || settled) return;
      stoppedBy = why;
      killGroup('SIGTERM');
      // Not cleared on settle: a member that ignored SIGTERM and closed its output must still die.
      setTimeout(() => killGroup('SIGKILL'), killGraceMs).unref();
      // If something survives even SIGKILL's delivery (uninterruptible I/O), return anyway.
      hardStopTimer = setTimeout(() => finish(true), killGraceMs + 1_000);
    };

    const timeoutTimer = setTimeout(() => stop('timeout'), timeoutMs);
    const onAbort = (): void => stop('abort');
    signal.addEventListener('abort', onAbort, { once: true });

    const cleanup = (): void => {
      clearTimeout(timeoutTimer);
      clearTimeout(drainTimer);
      clearTimeout(hardStopTimer);
      signal.removeEventListener('abort', onAbort);
    };

    function finish(outputStillOpen: boolean): void {
      if (settled) return;
      settled = true;
      cleanup();
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({
        output: buffer.toString(),
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        stoppedBy,
        detachedBackground: outputStillOpen && stoppedBy === undefined,
      });
    }

    child.on('error', (error) => {
      // Spawn failed (missing shell or cwd): nothing is running, nothing to kill.
      if (settled) return;
      settled = true;
      cleanup();
      reject(error);
    });
    child.on('exit', (code, sig) => {
      exit = { code, signal: sig };
      // A background job (`server &`) keeps the pipes open; do not wait for it beyond a short drain.
      if (!stoppedBy) drainTimer = setTimeout(() => finish(true), drainAfterExitMs);
    });
    child.on('close', (code, sig) => {
      exit ??= { code, signal: sig };
      finish(false);
    });
  });
}
