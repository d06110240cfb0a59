/**
 * The `edit_file` tool: exact search-and-replace in a workspace file. The text to replace must occur
 * exactly once (or `replace_all` must be set), so an edit never lands somewhere the model did not mean;
 * a miss or an ambiguity is an error that tells the model how to fix its request. No fuzzy matching,
 * except tolerating LF-vs-CRLF line endings, a difference the model cannot see.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { ToolError } from './errors.ts';
import { looksBinary } from './looks-binary.ts';
import { statRegularFile } from './stat-file.ts';
import type { Tool } from './types.ts';
import { resolveWorkspacePath } from './workspace-path.ts';

const editFileArgs = z.object({
  path: z.string().min(1).describe('File path, relative to the workspace.'),
  old_text: z
    .string()
    .min(1)
    .describe('Exact text to replace, including whitespace; add surrounding lines to make it unique.'),
  new_text: z.string().describe('Replacement text.'),
  replace_all: z
    .boolean()
    .default(false)
    .describe('Replace every occurrence instead of requiring exactly one.'),
});

export type EditFileArgs = z.infer<typeof editFileArgs>;

const countOccurrences = (text: string, search: string): number => text.split(search).length - 1;

export function createEditFileTool(): Tool<EditFileArgs> {
  return {
    name: 'edit_file',
    description:
      'Replace exact text in a workspace file. old_text must match the file exactly (whitespace included) ' +
      'and occur once, unless replace_all is true. Read the file first to copy the text.',
    schema: editFileArgs,
    label: (args) => `edit_file: ${args.path}`,
    async execute(args, ctx) {
      const file = await resolveWorkspacePath(ctx.cwd, args.path, ctx.home);
      await statRegularFile(file);
      const raw = await readFile(file.absolute, { signal: ctx.signal });
      if (looksBinary(raw)) throw new ToolError('binary_file', `${file.display} looks like a binary file.`);
      const content = raw.toString('utf8');

      let oldText = args.old_text;
      let newText = args.new_text;
      let count = countOccurrences(content, oldText);
      if (count === 0 && content.includes('\r\n') && oldText.includes('\n') && !oldText.includes('\r')) {
        oldText = oldText.replaceAll('\n', '\r\n');
        newText = newText.replaceAll('\n', '\r\n');
        count = countOccurrences(content, oldText);
      }
      if (count === 0) {
        throw new ToolError(
          'text_not_found',
          `old_text not found in ${file.display}. It must match exactly, including whitespace and indentation; read the file again and copy the text.`,
        );
      }
      if (count > 1 && !args.replace_all) {
        throw new ToolError(
          'text_not_unique',
          `old_text found ${count} times in ${file.display}; add context or set replace_all.`,
        );
      }

      const firstLine = content.slice(0, content.indexOf(oldText)).split('\n').length;
      // split/join rather than String.replace: `$&`-style patterns in new_text must stay literal.
      const updated = content.split(oldText).join(newText);
      await writeFile(file.absolute, updated, { encoding: 'utf8', signal: ctx.signal });
      const what = count === 1 ? '1 occurrence' : `${count} occurrences`;
      return `Replaced ${what} in ${file.display} (first at line ${firstLine}).`;
    },
  };
}
