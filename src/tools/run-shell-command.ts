/**
 * Runs one shell command as its own process group and always gets it back: on timeout or abort the
 * whole group (the shell and everything it started) gets SIGTERM, then SIGKILL after a short grace, so
 * a runaway grandchild cannot outlive the tool call. Output (stdout and stderr interleaved as they
 * arrive) is kept within a character budget, head and tail. It does not interpret the command or its
 * exit status; the terminal tool formats the result for the model. The child gets an allow-listed
 * environment (tool-env.ts) and, when Herald is root, another user (tool-user.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { HeadTailBuffer } from './head-tail-buffer.ts';
import { toolEnv } from './tool-env.ts';
import type { ToolUser } from './tool-user.ts';

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
  /** Variables added to the allow-listed environment (`tools.terminal.env`). */
  extraEnv?: Record<string, string>;
  /** Run as this user (uid, gid, no supplementary groups); undefined = Herald's own user. */
  user?: ToolUser;
}

/** How long output may keep arriving after the shell exits before background holders are ignored. */
const drainAfterExitMs = 250;

let shellPath: string | undefined;
function shell(): string {
  shellPath ??= existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';
  return shellPath;
}

export function runShellCommand(command: string, options: ShellOptions): Promise<ShellResult> {
  const { cwd, timeoutMs, maxOutputChars, signal, user } = options;
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
    // With uid/gid, libuv also drops the supplementary groups (setgroups(0)) before switching.
    const child = spawn(shell(), ['-c', command], {
      cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: toolEnv({
        source: process.env,
        extra: options.extraEnv ?? {},
        shell: shell(),
        workspace: cwd,
        user,
      }),
      ...(user && { uid: user.uid, gid: user.gid }),
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
