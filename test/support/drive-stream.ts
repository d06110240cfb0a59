/**
 * Streams an answer through a real StreamConsumer and chat platform on a ManualClock: text arrives
 * in chunks, the clock moves `stepMs` per chunk, and each step waits (in real time) until the
 * platform's in-flight HTTP calls have settled, so renders happen at deterministic clock times.
 * Every send/edit is logged with its clock time and text, for asserting edit pacing and backoff.
 */
import assert from 'node:assert/strict';
import { ManualClock, StreamConsumer, type StreamingSettings } from '../../src/gateway/streaming/index.ts';
import type { ChatPlatform, ReplyTarget } from '../../src/gateway/types.ts';
import { waitUntil } from './wait-until.ts';

export interface Render {
  kind: 'send' | 'edit';
  at: number;
  text: string;
  /** The call failed (e.g. a 429), so nothing changed on the platform. */
  failed: boolean;
}

export interface DriveOptions {
  platform: ChatPlatform;
  target: ReplyTarget;
  settings: StreamingSettings;
  answer: string;
  chunkChars: number;
  stepMs: number;
  /** Called just before the `nth` edit reaches the platform (1-based), e.g. to inject a 429. */
  beforeEdit?: { nth: number; run: () => void };
}

export async function driveStream(options: DriveOptions): Promise<{ renders: Render[]; clock: ManualClock }> {
  const { platform, target, settings, answer, chunkChars, stepMs, beforeEdit } = options;
  const clock = new ManualClock();
  const renders: Render[] = [];
  let inFlight = 0;
  const track = async <T>(kind: Render['kind'], text: string, call: () => Promise<T>): Promise<T> => {
    const render: Render = { kind, at: clock.now(), text, failed: false };
    renders.push(render);
    inFlight++;
    try {
      return await call();
    } catch (error) {
      render.failed = true;
      throw error;
    } finally {
      inFlight--;
    }
  };
  const recording = {
    limits: platform.limits,
    send: (t: ReplyTarget, text: string, o?: { replyToInbound?: boolean }) =>
      track('send', text, () => platform.send(t, text, o)),
    edit: (t: ReplyTarget, m: { id: string }, text: string) => {
      if (renders.filter((r) => r.kind === 'edit').length + 1 === beforeEdit?.nth) beforeEdit.run();
      return track('edit', text, () => platform.edit(t, m, text));
    },
    delete: platform.delete.bind(platform),
    sendTyping: platform.sendTyping.bind(platform),
  };
  const consumer = new StreamConsumer({ platform: recording, target, settings, clock });
  const settled = () => waitUntil(() => inFlight === 0, 'platform calls to settle');
  consumer.start();
  for (let i = 0; i < answer.length; i += chunkChars) {
    consumer.pushText(answer.slice(i, i + chunkChars));
    await clock.advance(stepMs);
    await settled();
  }
  const finished = consumer.finish();
  // The final render may wait out a flood-control pause on the clock.
  let done = false;
  void finished.finally(() => {
    done = true;
  });
  while (!done) {
    await clock.advance(stepMs);
    await settled();
  }
  await finished;
  return { renders, clock };
}

/**
 * Asserts the stream opened with a send, that successful intermediate renders (the final one is
 * exempt) were at least `intervalMs` apart on the clock, and that the render after the one failed
 * call came at least `backoffMs` later.
 */
export function assertPacedRenders(renders: Render[], intervalMs: number, backoffMs: number): void {
  assert.equal(renders[0]?.kind, 'send');
  const ok = renders.filter((r) => !r.failed).slice(0, -1);
  for (let i = 1; i < ok.length; i++) {
    const gap = ok[i]!.at - ok[i - 1]!.at;
    assert.ok(gap >= intervalMs, `renders ${gap} ms apart`);
  }
  const failed = renders.findIndex((r) => r.failed);
  assert.ok(failed > 0, 'one render failed');
  assert.ok(renders[failed + 1]!.at - renders[failed]!.at >= backoffMs, 'the next render waited the backoff');
}
