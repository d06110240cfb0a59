/**
 * The MCP stdio transport for a server Herald starts itself, spawned the way tool commands are: with
 * the allow-listed environment plus the server's own `env` (never Herald's keys), as the tool user when
 * Herald is root, in its own process group so closing it ends the whole tree (`npx` and the server it
 * starts). The SDK's `StdioClientTransport` can do neither the user switch nor the group kill, hence
 * this small twin built on the SDK's own line framing. It keeps the last lines the server wrote to
 * stderr so a crash can be explained. It does not restart anything (mcp-connection.ts does).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { ToolUser } from '../tool-user.ts';

export interface ChildProcessTransportOptions {
  command: string;
  args: readonly string[];
  cwd: string;
  env: Record<string, string>;
  user?: ToolUser;
  /** How long the server may take to exit after SIGTERM before SIGKILL. */
  killGraceMs?: number;
}

const STDERR_TAIL_CHARS = 2_000;

export class ChildProcessTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  readonly #options: ChildProcessTransportOptions;
  readonly #buffer = new ReadBuffer();
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stderrTail = '';
  #exitDescription: string | undefined;

  constructor(options: ChildProcessTransportOptions) {
    this.#options = options;
  }

  get cwd(): string {
    return this.#options.cwd;
  }

  /** The end of what the server wrote to stderr, for error messages. */
  get stderrTail(): string {
    return this.#stderrTail.trim();
  }

  /** How the process ended (`exit code 1`, `signal SIGKILL`), once it has. */
  get exitDescription(): string | undefined {
    return this.#exitDescription;
  }

  start(): Promise<void> {
    const { command, args, cwd, env, user } = this.#options;
    return new Promise((resolve, reject) => {
      const child = spawn(command, [...args], {
        cwd,
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
        // Its own process group: a close reaches whatever the command started (npx → node server).
        detached: true,
        ...(user ? { uid: user.uid, gid: user.gid } : {}),
      });
      this.#child = child;
      const { promise: exited, resolve: markExited } = Promise.withResolvers<void>();
      this.#exited = exited;
      child.once('spawn', () => resolve());
      child.once('error', (error) => {
        // A failed spawn (missing command, cwd) may never emit 'close'.
        this.#child = undefined;
        markExited();
        reject(error);
        this.onerror?.(error);
      });
      child.once('close', (code, signal) => {
        this.#exitDescription = signal ? `signal ${signal}` : `exit code ${code}`;
        this.#child = undefined;
        markExited();
        this.onclose?.();
      });
      child.stdin?.on('error', (error) => this.onerror?.(error));
      child.stdout?.on('data', (chunk: Buffer) => {
        this.#buffer.append(chunk);
        this.#drain();
      });
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (text: string) => {
        this.#stderrTail = (this.#stderrTail + text).slice(-STDERR_TAIL_CHARS);
      });
    });
  }

  #drain(): void {
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = this.#buffer.readMessage();
      } catch (error) {
        // A non-JSON line (a server logging to stdout): report it and carry on with the next line.
        this.onerror?.(error as Error);
        continue;
      }
      if (message === null) return;
      this.onmessage?.(message);
    }
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.#child?.stdin;
    if (!stdin) return Promise.reject(new Error('the MCP server process is not running'));
    return new Promise((resolve) => {
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once('drain', resolve);
    });
  }

  /** Closes stdin (well-behaved servers exit on it), then SIGTERM and SIGKILL the group if needed. */
  async close(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.stdin?.end();
    const grace = this.#options.killGraceMs ?? 2_000;
    const killGroup = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    const term = setTimeout(() => killGroup('SIGTERM'), Math.min(grace, 500));
    const kill = setTimeout(() => killGroup('SIGKILL'), grace);
    try {
      await this.#exited;
    } finally {
      clearTimeout(term);
      clearTimeout(kill);
    }
  }
}
