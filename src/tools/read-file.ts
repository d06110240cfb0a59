/**
 * The `read_file` tool: a text file from the workspace with line numbers, whole or a 1-based line range.
 * It streams the file line by line and stops at `files.max_read_lines` lines or `files.max_read_bytes`
 * bytes, saying where it stopped and how to read on, so a huge log costs no more than its first page.
 * Binary files are refused (detected by a NUL byte in their head). It never writes.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { ToolError } from './errors.ts';
import { fileLooksBinary } from './looks-binary.ts';
import { statRegularFile } from './stat-file.ts';
import type { Tool } from './types.ts';
import { resolveWorkspacePath } from './workspace-path.ts';

const readFileArgs = z
  .object({
    path: z.string().min(1).describe('File path, relative to the workspace.'),
    start_line: z.number().int().positive().optional().describe('First line to show (1-based). Default 1.'),
    end_line: z.number().int().positive().optional().describe('Last line to show (1-based, inclusive).'),
  })
  .refine((args) => args.end_line === undefined || args.end_line >= (args.start_line ?? 1), {
    message: 'end_line must not be before start_line',
    path: ['end_line'],
  });

export type ReadFileArgs = z.infer<typeof readFileArgs>;

const numberLine = (n: number, text: string): string => `${String(n).padStart(6)}\t${text}`;

export function createReadFileTool(): Tool<ReadFileArgs> {
  return {
    name: 'read_file',
    description:
      'Read a text file in the workspace. Lines are shown with their 1-based numbers (number, tab, text). ' +
      'Use start_line/end_line to read part of a long file.',
    schema: readFileArgs,
    label: (args) =>
      `read_file: ${args.path}${args.start_line || args.end_line ? `:${args.start_line ?? 1}-${args.end_line ?? ''}` : ''}`,
    async execute(args, ctx) {
      const { max_read_bytes: maxBytes, max_read_lines: maxLines } = ctx.config.files;
      const file = await resolveWorkspacePath(ctx.cwd, args.path, ctx.home);
      const stats = await statRegularFile(file);
      if (await fileLooksBinary(file.absolute)) {
        throw new ToolError(
          'binary_file',
          `${file.display} looks like a binary file (${stats.size} bytes); read_file only shows text.`,
        );
      }

      const start = args.start_line ?? 1;
      const end = args.end_line ?? Number.POSITIVE_INFINITY;
      const shown: string[] = [];
      let lineNo = 0;
      let bytes = 0;
      let stop: 'lines' | 'bytes' | undefined;
      const lines = createInterface({
        input: createReadStream(file.absolute, { encoding: 'utf8', signal: ctx.signal }),
        crlfDelay: Number.POSITIVE_INFINITY,
      });
      try {
        for await (const line of lines) {
          lineNo++;
          if (lineNo < start) continue;
          if (lineNo > end) break;
          if (shown.length >= maxLines) {
            stop = 'lines';
            break;
          }
          const lineBytes = Buffer.byteLength(line) + 1;
          if (bytes + lineBytes > maxBytes) {
            // A first line longer than the whole budget is shown cut rather than not at all.
            if (shown.length === 0) shown.push(numberLine(lineNo, `${line.slice(0, maxBytes)}…`));
            stop = 'bytes';
            break;
          }
          bytes += lineBytes;
          shown.push(numberLine(lineNo, line));
        }
      } finally {
        lines.close();
      }

      if (lineNo === 0) return `(${file.display} is empty)`;
      if (shown.length === 0)
        return `(${file.display} has only ${lineNo} lines; start_line ${start} is past the end)`;
      const last = start + shown.length - 1;
      const text = shown.join('\n');
      if (stop === 'lines') {
        return `${text}\n[showing lines ${start}-${last} (max_read_lines ${maxLines}); the file continues: read on with start_line=${last + 1}]`;
      }
      if (stop === 'bytes') {
        return `${text}\n[stopped after line ${last} at the ${maxBytes}-byte read limit; the file continues: read on with start_line=${last + 1}]`;
      }
      return text;
    },
  };
}
