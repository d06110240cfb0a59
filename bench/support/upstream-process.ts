/**
 * Runs the scripted upstream as its own process for benchmarks, so the load generator and the system
 * under test do not share its event loop. A request whose last user message contains `hold` gets a
 * slow stream (for the open-streams memory test); any other gets the same short streamed answer.
 * Prints `{"url": …}` on stdout once listening.
 */
import { ScriptedUpstream } from '../../test/support/scripted-upstream.ts';

const answer = 'Herald benchmark answer: the quick brown fox jumps over the lazy dog. '.repeat(3);
const holdChunks = Array.from({ length: 400 }, (_, i) => `tick ${i} `);

const upstream = await ScriptedUpstream.start({
  responder: (req) => {
    const messages = (req.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
    const last = JSON.stringify(messages.at(-1)?.content ?? '');
    return last.includes('hold') ? { text: holdChunks, chunkDelayMs: 100 } : { text: answer };
  },
});
process.stdout.write(`${JSON.stringify({ url: upstream.url.replace(/\/v1$/, '') })}\n`);
process.on('SIGTERM', () => {
  void upstream.close().then(() => process.exit(0));
});
