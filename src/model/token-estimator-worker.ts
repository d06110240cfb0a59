/**
 * The worker thread behind the token estimator: it builds the cl100k encoder once, off the main thread
 * — building it blocks for the better part of a second — and answers count requests (`{ id, texts }` →
 * `{ id, counts }`). It knows nothing of messages or usage; token-estimator.ts does.
 */
import { parentPort } from 'node:worker_threads';
import { countTokens, loadCl100kEncoder } from './cl100k-encoder.ts';

const encoder = loadCl100kEncoder();

parentPort?.on('message', async (message: { id: number; texts: string[] }) => {
  const loaded = await encoder;
  parentPort?.postMessage({ id: message.id, counts: message.texts.map((text) => countTokens(loaded, text)) });
});
