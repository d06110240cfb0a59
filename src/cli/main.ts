/**
 * Entry of the `herald` command (bin/herald.js calls `main(process.argv)`): turns on Node's compile
 * cache, runs the command tree of program.ts and hands any failure to the exit handler, the one place
 * that decides what the user sees and the exit code. It never calls process.exit, so output drains.
 */
import { enableCompileCache } from 'node:module';
import { handleExit } from './exit-handler.ts';

export async function main(argv: string[]): Promise<void> {
  // Caches compiled module code (in the OS temp dir) across runs: the CLI loads zod, the openai SDK and
  // the tools on every start, and compiling them dominates a cold `herald chat -q`.
  enableCompileCache();
  const debug = argv.includes('--debug');
  try {
    const { buildProgram } = await import('./program.ts');
    await buildProgram().parseAsync(argv);
  } catch (error) {
    process.exitCode = handleExit(error, { debug });
  }
}
