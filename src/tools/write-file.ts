/**
 * The `write_file` tool: creates or replaces a file in the workspace with the given content, creating
 * missing parent directories. It reports what it did (bytes, new or replaced) so the model need not
 * read the file back. Edits of existing files are better done with `edit_file`, which cannot clobber
 * text the model never saw.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ToolError } from './errors.ts';
import type { Tool } from './types.ts';
import { resolveWorkspacePath } from './workspace-path.ts';

const writeFileArgs = z.object({
  path: z.string().min(1).describe('File path, relative to the workspace. Parent directories are created.'),
  content: z.string().describe('The complete new content of the file.'),
});

export type WriteFileArgs = z.infer<typeof writeFileArgs>;

export function createWriteFileTool(): Tool<WriteFileArgs> {
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
      await mkdir(path.dirname(file.absolute), { recursive: true });
      await writeFile(file.absolute, args.content, { encoding: 'utf8', signal: ctx.signal });
      const bytes = Buffer.byteLength(args.content);
      return `Wrote ${bytes} bytes to ${file.display} (${existed ? 'replaced the existing file' : 'new file'}).`;
    },
  };
}
