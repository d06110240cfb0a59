/**
 * The `write_file` tool: creates or replaces a file in the workspace with the given content, creating
 * missing parent directories. It reports what it did (bytes, new or replaced) so the model need not
 * read the file back. Edits of existing files are better done with `edit_file`, which cannot clobber
 * text the model never saw. When tool commands run as another user (`tools.run_as`), what it creates is
 * handed to that user, so a later command can change it.
 */
import { lchown, mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ToolError } from './errors.ts';
import type { ToolUser } from './tool-user.ts';
import type { Tool } from './types.ts';
import { isInside, resolveWorkspacePath } from './workspace-path.ts';

const writeFileArgs = z.object({
  path: z.string().min(1).describe('File path, relative to the workspace. Parent directories are created.'),
  content: z.string().describe('The complete new content of the file.'),
});

export type WriteFileArgs = z.infer<typeof writeFileArgs>;

export interface WriteFileToolOptions {
  /** The user tool commands run as; new files and directories are given to them. */
  owner?: ToolUser;
}

export function createWriteFileTool(options: WriteFileToolOptions = {}): Tool<WriteFileArgs> {
  return {
    name: 'write_file',
    description:
      'Create a file in the workspace, or replace its whole content. For changes to part of an ' +
      'existing file use edit_file instead.',
    schema: writeFileArgs,
    label: (args) => `write_file: ${args.path}`,
    async execute(args, ctx) {
      const file = await resolveWorkspacePath(ctx.cwd, args.path, ctx.home);
      const existed = await stat(file.absolute).then(
        (stats) => {
          if (stats.isDirectory()) throw new ToolError('not_a_file', `${file.display} is a directory.`);
          return true;
        },
        () => false,
      );
      const firstNewDir = await mkdir(path.dirname(file.absolute), { recursive: true });
      await writeFile(file.absolute, args.content, { encoding: 'utf8', signal: ctx.signal });
      if (options.owner) await handOver(options.owner, file.absolute, existed, firstNewDir);
      const bytes = Buffer.byteLength(args.content);
      return `Wrote ${bytes} bytes to ${file.display} (${existed ? 'replaced the existing file' : 'new file'}).`;
    },
  };
}

/** The new file and the directories made for it; lchown, so a link swapped in is not followed. */
async function handOver(owner: ToolUser, file: string, existed: boolean, firstNewDir: string | undefined) {
  const created = existed ? [] : [file];
  if (firstNewDir !== undefined) {
    for (let dir = path.dirname(file); isInside(firstNewDir, dir); dir = path.dirname(dir)) created.push(dir);
  }
  for (const entry of created) await lchown(entry, owner.uid, owner.gid);
}
