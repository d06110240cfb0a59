/**
 * Confines the file tools to the workspace. A path from the model is resolved against the workspace
 * and then through the filesystem (realpath of its deepest existing part), so `..`, absolute paths
 * elsewhere and symlinks pointing out are all caught by one rule: the real location must lie inside
 * the workspace's real location. A second rule keeps them out of HERALD_HOME (config.yaml, .env,
 * herald.db…) even when the operator points the workspace at HERALD_HOME or a parent of it: only a
 * workspace strictly inside HERALD_HOME opens its own subtree there. It does not guard against the
 * filesystem changing between this check and the tool's use of the path (a race only something
 * already inside the workspace can run).
 */
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { PathOutsideWorkspaceError, ToolError } from './errors.ts';

export interface WorkspacePath {
  /** The real absolute path (symlinks in its existing part resolved). */
  absolute: string;
  /** The path relative to the workspace, for messages to the model (`.` for the workspace itself). */
  display: string;
  /** The workspace's real absolute path. */
  root: string;
  /** HERALD_HOME's real absolute path, for tools that walk directories (`isInHeraldHome`). */
  home: string;
}

/** The filesystem's "no such entry" errors (ENOTDIR: a path component is a file). */
export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

async function workspaceRoot(workspace: string): Promise<string> {
  try {
    return await realpath(workspace);
  } catch (error) {
    throw new ToolError('not_found', `The workspace directory ${workspace} does not exist.`, {
      cause: error,
    });
  }
}

/** True when `absolute` lies in HERALD_HOME outside a workspace that is itself strictly inside it. */
export function isInHeraldHome(absolute: string, root: string, home: string): boolean {
  if (!isInside(home, absolute)) return false;
  return !(root !== home && isInside(home, root) && isInside(root, absolute));
}

/** HERALD_HOME's real path; one that does not exist yet holds nothing to protect but is still refused. */
const realHome = (home: string): Promise<string> => realpath(home).catch(() => path.resolve(home));

/**
 * Resolves `requested` inside `workspace`, or throws `PathOutsideWorkspaceError` (or `path_in_herald_home`
 * for a path into `home`, HERALD_HOME). The path need not exist.
 */
export async function resolveWorkspacePath(
  workspace: string,
  requested: string,
  home: string,
): Promise<WorkspacePath> {
  const root = await workspaceRoot(workspace);
  const lexical = path.resolve(root, requested);

  // Walk up to the deepest entry that exists (as an entry: a dangling symlink counts), so a path to be
  // created is judged by the real directory it would land in.
  let existing = lexical;
  const missing: string[] = [];
  for (;;) {
    try {
      await lstat(existing);
      break;
    } catch (error) {
      if (!isMissing(error)) throw error;
      const parent = path.dirname(existing);
      if (parent === existing) throw new PathOutsideWorkspaceError(requested);
      missing.unshift(path.basename(existing));
      existing = parent;
    }
  }

  let real: string;
  try {
    real = await realpath(existing);
  } catch (error) {
    if (!isMissing(error)) throw error;
    // A dangling symlink: writing through it would create its target, wherever that is.
    throw new ToolError(
      'path_outside_workspace',
      `Refused: "${requested}" is a symlink whose target does not exist, so it cannot be checked to stay inside the workspace.`,
    );
  }
  const absolute = path.join(real, ...missing);
  if (!isInside(root, absolute)) throw new PathOutsideWorkspaceError(requested);
  const heraldHome = await realHome(home);
  if (isInHeraldHome(absolute, root, heraldHome)) {
    throw new ToolError(
      'path_in_herald_home',
      `Refused: "${requested}" is in HERALD_HOME, where Herald keeps its configuration, keys and database. File tools never read or write there.`,
    );
  }
  return { absolute, display: path.relative(root, absolute) || '.', root, home: heraldHome };
}
