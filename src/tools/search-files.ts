/**
 * The `search_files` tool: finds files in the workspace by glob pattern, by content (substring or
 * regular expression), or both, under a directory. Results stop at `files.max_search_results` with a
 * note, `node_modules` and `.git` are skipped, and anything whose real location is outside the
 * workspace (a symlinked directory pointing out) is left out. Content search reads text files only,
 * each up to `files.max_read_bytes`. It uses Node's built-in `fs.glob`, which does not match dotfiles
 * unless the pattern names them (`**\/.env`).
 */
import type { Dirent } from 'node:fs';
import { glob, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ToolError } from './errors.ts';
import { looksBinary } from './looks-binary.ts';
import type { Tool, ToolContext } from './types.ts';
import { isInHeraldHome, isInside, resolveWorkspacePath, type WorkspacePath } from './workspace-path.ts';

const searchFilesArgs = z
  .object({
    pattern: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Glob for file paths, e.g. "**/*.ts" or "src/**/test-*.js". Without a "/" it matches file names at any depth.',
      ),
    content: z
      .string()
      .min(1)
      .optional()
      .describe('Text to find inside files (a substring unless regex is true).'),
    regex: z.boolean().default(false).describe('Treat content as a JavaScript regular expression.'),
    ignore_case: z.boolean().default(false).describe('Match content case-insensitively.'),
    path: z.string().min(1).default('.').describe('Directory to search under, relative to the workspace.'),
  })
  .refine((args) => args.pattern !== undefined || args.content !== undefined, {
    message: 'give a pattern, a content search, or both',
    path: ['pattern'],
  });

export type SearchFilesArgs = z.infer<typeof searchFilesArgs>;

const skippedDirs = new Set(['node_modules', '.git']);
const maxLineChars = 300;

function globPattern(pattern: string | undefined): string {
  if (pattern === undefined) return '**/*';
  const segments = pattern.split(/[\\/]/);
  if (path.isAbsolute(pattern) || segments.includes('..')) {
    throw new ToolError(
      'invalid_pattern',
      `The pattern "${pattern}" leaves the search directory; use a relative pattern and the path argument instead.`,
    );
  }
  return pattern.includes('/') ? pattern : `**/${pattern}`;
}

function contentMatcher(args: SearchFilesArgs): ((line: string) => boolean) | undefined {
  const { content } = args;
  if (content === undefined) return undefined;
  if (args.regex) {
    let re: RegExp;
    try {
      re = new RegExp(content, args.ignore_case ? 'i' : '');
    } catch (error) {
      throw new ToolError('invalid_pattern', `Invalid regular expression: ${(error as Error).message}`);
    }
    return (line) => re.test(line);
  }
  if (args.ignore_case) {
    const needle = content.toLowerCase();
    return (line) => line.toLowerCase().includes(needle);
  }
  return (line) => line.includes(content);
}

/** Yields workspace-relative paths of matching entries under `base`, inside the workspace and out of HERALD_HOME. */
async function* confinedEntries(
  { root, home, absolute: base }: WorkspacePath,
  pattern: string,
  signal: AbortSignal,
): AsyncGenerator<{ entry: Dirent; absolute: string; display: string }> {
  const realDirs = new Map<string, string>();
  const realDir = async (dir: string): Promise<string> => {
    let real = realDirs.get(dir);
    if (real === undefined) {
      real = await realpath(dir);
      realDirs.set(dir, real);
    }
    return real;
  };
  // The exclude function prunes traversal; results are still filtered below because fs.glob yields
  // an excluded directory's own entry and follows symlinked directories a pattern names explicitly.
  const entries = glob(pattern, {
    cwd: base,
    withFileTypes: true,
    exclude: (dirent: Dirent) => skippedDirs.has(dirent.name) || dirent.isSymbolicLink(),
  });
  for await (const entry of entries) {
    signal.throwIfAborted();
    const absolute = path.join(entry.parentPath, entry.name);
    const fromBase = path.relative(base, absolute).split(path.sep);
    if (fromBase.some((segment) => skippedDirs.has(segment))) continue;
    let real: string;
    try {
      real = entry.isSymbolicLink()
        ? await realpath(absolute)
        : path.join(await realDir(entry.parentPath), entry.name);
    } catch {
      continue; // a dangling symlink or an entry removed mid-search
    }
    if (!isInside(root, real) || isInHeraldHome(real, root, home)) continue;
    yield { entry, absolute: real, display: path.relative(root, real) };
  }
}

async function matchingLines(
  absolute: string,
  display: string,
  matches: (line: string) => boolean,
  ctx: ToolContext,
): Promise<string[]> {
  const stats = await stat(absolute);
  if (!stats.isFile() || stats.size > ctx.config.files.max_read_bytes) return [];
  const raw = await readFile(absolute, { signal: ctx.signal });
  if (looksBinary(raw)) return [];
  const found: string[] = [];
  const lines = raw.toString('utf8').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (!matches(line)) continue;
    const shown = line.length > maxLineChars ? `${line.slice(0, maxLineChars)}…` : line;
    found.push(`${display}:${i + 1}: ${shown.trim()}`);
  }
  return found;
}

export function createSearchFilesTool(): Tool<SearchFilesArgs> {
  return {
    name: 'search_files',
    description:
      'Find files in the workspace by glob pattern and/or search their content. With only a pattern, ' +
      'lists matching paths; with content, lists matching lines as path:line: text. Skips node_modules and .git.',
    schema: searchFilesArgs,
    label: (args) => `search_files: ${[args.pattern, args.content].filter(Boolean).join(' ')}`,
    async execute(args, ctx) {
      const max = ctx.config.files.max_search_results;
      const base = await resolveWorkspacePath(ctx.cwd, args.path, ctx.home);
      const baseStats = await stat(base.absolute).catch(() => undefined);
      if (!baseStats?.isDirectory()) {
        throw new ToolError('not_found', `${base.display} is not a directory in the workspace.`);
      }
      const pattern = globPattern(args.pattern);
      const matches = contentMatcher(args);

      const results: string[] = [];
      let capped = false;
      for await (const { entry, absolute, display } of confinedEntries(base, pattern, ctx.signal)) {
        if (matches === undefined) {
          results.push(entry.isDirectory() ? `${display}/` : display);
        } else if (!entry.isDirectory()) {
          results.push(...(await matchingLines(absolute, display, matches, ctx)));
        }
        if (results.length > max) {
          capped = true;
          break;
        }
      }

      if (results.length === 0) return 'No matches.';
      const shown = results.slice(0, max).join('\n');
      return capped
        ? `${shown}\n[results capped at ${max}; narrow the pattern, content or path to see the rest]`
        : shown;
    },
  };
}
