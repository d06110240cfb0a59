/**
 * Looks up a workspace file for the file tools that need an existing regular file, turning the
 * filesystem's terse errors into messages the model can act on (missing file, directory instead of
 * file). It does not check confinement; callers resolve the path with `resolveWorkspacePath` first.
 */
import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ToolError } from './errors.ts';
import { isMissing, type WorkspacePath } from './workspace-path.ts';

export async function statRegularFile(file: WorkspacePath): Promise<Stats> {
  let stats: Stats;
  try {
    stats = await stat(file.absolute);
  } catch (error) {
    if (isMissing(error))
      throw new ToolError('not_found', `File not found: ${file.display}`, { cause: error });
    throw error;
  }
  if (stats.isDirectory()) {
    throw new ToolError('not_a_file', `${file.display} is a directory; use search_files to list its files.`);
  }
  if (!stats.isFile()) throw new ToolError('not_a_file', `${file.display} is not a regular file.`);
  return stats;
}
