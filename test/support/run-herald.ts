/**
 * Spawns the real `herald` CLI (bin/herald.js) for process-level tests and collects its output. The
 * child gets only PATH, HOME (the given HERALD_HOME, else the temp dir) and the given env, so a
 * developer's own keys never leak in. A hang guard kills it after 30 s; it does not assert anything.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

export const heraldBin = fileURLToPath(new URL('../../bin/herald.js', import.meta.url));

export interface HeraldRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runHerald(
  args: string[],
  env: Record<string, string>,
  options: { stdin?: string; onSpawn?: (child: ChildProcess) => void } = {},
): Promise<HeraldRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [heraldBin, ...args], {
      env: { PATH: process.env['PATH'] ?? '', HOME: env['HERALD_HOME'] ?? tmpdir(), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (part: Buffer) => {
      stdout += part.toString();
    });
    child.stderr.on('data', (part: Buffer) => {
      stderr += part.toString();
    });
    // Hang guard only: a healthy run takes well under a second or two.
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
    options.onSpawn?.(child);
  });
}
