/**
 * Applies `tools.run_as` once at startup, before any tool runs: decides the tool user, creates the
 * workspace owned by that user, and closes HERALD_HOME to it. HERALD_HOME becomes 0711 when the
 * workspace lies inside it (the tool user may pass through to the workspace but not list the home)
 * and 0700 otherwise; every other entry in it loses its group and other permissions, so config.yaml,
 * .env, herald.db with its -wal/-shm and the platforms' auth directories are readable by Herald's user
 * alone (SQLite creates later -wal/-shm files with the database's mode). What it cannot fix — Herald
 * not being root, a workspace the tool user cannot reach — is logged once as a warning. It does not
 * run tools, and it is not a sandbox: see docs/security.md for what this does and does not stop.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { type HeraldConfig, heraldPaths } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import { resolveToolUser, type ToolUser } from './tool-user.ts';
import { isInside } from './workspace-path.ts';

export interface ToolIsolation {
  /** The user tool commands run as; undefined = Herald's own user. */
  user: ToolUser | undefined;
}

export interface ToolIsolationOptions {
  /** Herald's effective uid; default `process.geteuid()` (tests pretend not to be root). */
  heraldUid?: number;
  /**
   * Log that tools share Herald's user at info rather than warn: `herald chat`, where the person at the
   * terminal is the one the tools work for. A workspace the tool user cannot use is still a warning.
   */
  quiet?: boolean;
}

export function setUpToolIsolation(
  config: HeraldConfig,
  logger: Logger,
  options: ToolIsolationOptions = {},
): ToolIsolation {
  const heraldUid = options.heraldUid ?? process.geteuid?.() ?? -1;
  const { user, warning } = resolveToolUser(config.tools.run_as, heraldUid);
  if (warning) {
    logger[options.quiet ? 'info' : 'warn'](
      { event: 'tools.not_isolated', run_as: config.tools.run_as },
      warning,
    );
  }

  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  const workspace = config.agent.workspace ?? heraldPaths(config.home).workspace;
  if (!existsSync(workspace)) {
    mkdirSync(workspace, { recursive: true });
    if (user) chownSync(workspace, user.uid, user.gid);
  }
  try {
    closeHome(realpathSync(config.home), realpathSync(workspace), user);
  } catch (error) {
    // A home owned by another user or on a filesystem without modes: tools still work, say what is open.
    logger.warn(
      { event: 'tools.home_not_closed', home: config.home, error: String(error) },
      'could not take group and other permissions off HERALD_HOME; check its modes by hand (docs/security.md)',
    );
  }

  if (user && !canWorkIn(workspace, user)) {
    logger.warn(
      { event: 'tools.workspace_unusable', workspace, user: user.name },
      `tool commands run as ${user.name} (uid ${user.uid}) cannot enter or write the workspace ${workspace} by its path: ` +
        `chown ${user.uid}:${user.gid} it, make its parent directories searchable (chmod o+x), or set agent.workspace elsewhere`,
    );
  }
  return { user };
}

/** Takes group and other permissions off HERALD_HOME's entries, leaving only the way to the workspace open. */
function closeHome(home: string, workspace: string, user: ToolUser | undefined): void {
  const toolsEnter = user !== undefined && workspace !== home && isInside(home, workspace);
  chmodSync(home, toolsEnter ? 0o711 : 0o700);
  for (const entry of readdirSync(home, { withFileTypes: true })) {
    const entryPath = path.join(home, entry.name);
    if (isInside(entryPath, workspace)) {
      // The workspace (left as it is: the tool user's) or a directory on the way to it.
      if (toolsEnter) for (const dir of dirsBetween(entryPath, workspace)) chmodSync(dir, 0o711);
      continue;
    }
    // chmod follows symlinks; a link in HERALD_HOME may point at anything.
    if (entry.isSymbolicLink()) continue;
    const mode = lstatSync(entryPath).mode & 0o7777;
    if ((mode & 0o077) !== 0) chmodSync(entryPath, mode & 0o700);
  }
}

/** `from` and every directory below it up to, not including, `to` (`from` is an ancestor of `to`). */
function dirsBetween(from: string, to: string): string[] {
  const dirs: string[] = [];
  for (let dir = path.dirname(to); isInside(from, dir); dir = path.dirname(dir)) dirs.push(dir);
  return dirs;
}

/** Asks the tool user's own shell, so group membership, ACLs and every parent directory count. */
function canWorkIn(workspace: string, user: ToolUser): boolean {
  const probe = spawnSync(
    '/bin/sh',
    ['-c', 'test -d "$1" && test -w "$1" && test -x "$1"', 'sh', workspace],
    {
      uid: user.uid,
      gid: user.gid,
      cwd: '/',
      env: {},
      stdio: 'ignore',
    },
  );
  return probe.status === 0;
}
