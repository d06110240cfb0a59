import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NativeStream, PlatformLimits, ReplyTarget, SendOptions, SentMessage } from '../types.ts';
import { EditFailedError, FloodControlError } from '../types.ts';
import { ManualClock } from './manual-clock.ts';
import { StreamConsumer, type StreamTarget } from './stream-consumer.ts';
import type { StreamingSettings } from './streaming-settings.ts';

interface Call {
  op: 'send' | 'edit' | 'delete' | 'typing';
  at: number;
  id?: string;
  text?: string;
  replyToInbound?: boolean;
}

/** A chat platform that records every call and can be told to fail the next ones. */
class RecordingPlatform implements StreamTarget {
  readonly calls: Call[] = [];
  readonly messages = new Map<string, string>();
  readonly limits: PlatformLimits;
  /** Errors thrown by the next send/edit calls, in order. */
  readonly failNext: Error[] = [];
  native: NativeStream | undefined;
  #nextId = 1;
  readonly #clock: ManualClock;

  constructor(clock: ManualClock, maxMessageLength = 4096) {
    this.#clock = clock;
    this.limits = { maxMessageLength, countLength: (t) => t.length, defaultEditIntervalMs: 1000 };
  }

  async send(_target: ReplyTarget, text: string, options?: SendOptions): Promise<SentMessage> {
    const failure = this.failNext.shift();
    if (failure) throw failure;
    assert.ok(text.length <= this.limits.maxMessageLength, 'message over the limit');
    const id = String(this.#nextId++);
    this.calls.push({ op: 'send', at: this.#clock.now(), id, text, replyToInbound: options?.replyToInbound });
    this.messages.set(id, text);
    return { id };
  }

  async edit(_target: ReplyTarget, message: SentMessage, text: string): Promise<void> {
    const failure = this.failNext.shift();
    if (failure) throw failure;
    assert.ok(text.length <= this.limits.maxMessageLength, 'edit over the limit');
    assert.notEqual(this.messages.get(message.id), text, 'edit with unchanged text');
    this.calls.push({ op: 'edit', at: this.#clock.now(), id: message.id, text });
    this.messages.set(message.id, text);
  }

  async delete(_target: ReplyTarget, message: SentMessage): Promise<void> {
    this.calls.push({ op: 'delete', at: this.#clock.now(), id: message.id });
    this.messages.delete(message.id);
  }

  async sendTyping(): Promise<void> {
    this.calls.push({ op: 'typing', at: this.#clock.now() });
  }

  openNativeStream(): NativeStream | undefined {
    return this.native;
  }

  /** The texts the user sees now, oldest message first. */
  visible(): string[] {
    return [...this.messages.values()];
  }

  ops(): Call[] {
    return this.calls.filter((call) => call.op === 'send' || call.op === 'edit');
  }
}

const target: ReplyTarget = { chatId: '1', inboundMessageId: '10', userId: '7', isPrivate: true };

function settings(overrides: Partial<StreamingSettings> = {}): StreamingSettings {
  return {
    enabled: true,
    editIntervalMs: 1000,
    firstChunkChars: 30,
    firstChunkDelayMs: 1000,
    toolProgress: true,
    typingIntervalMs: 4000,
    cursor: ' ▌',
    ...overrides,
  };
}

const groupTarget: ReplyTarget = { chatId: '-100', inboundMessageId: '11', userId: '7', isPrivate: false };

function setup(options: { max?: number; settings?: Partial<StreamingSettings>; target?: ReplyTarget } = {}) {
  const clock = new ManualClock();
  const platform = new RecordingPlatform(clock, options.max);
  const consumer = new StreamConsumer({
    platform,
    target: options.target ?? target,
    settings: settings(options.settings),
    clock,
  });
  consumer.start();
  return { clock, platform, consumer };
}

/** Pushes `tokens` one every `msPerToken` on the fake clock. */
async function stream(consumer: StreamConsumer, clock: ManualClock, tokens: string[], msPerToken: number) {
  for (const token of tokens) {
    consumer.pushText(token);
    await clock.advance(msPerToken);
  }
}

/** Finishes the reply while the fake clock runs (final renders may wait out flood control). */
async function finish(consumer: StreamConsumer, clock: ManualClock): Promise<void> {
  let done = false;
  const finished = consumer.finish().then(() => {
    done = true;
  });
  for (let i = 0; i < 1000 && !done; i++) await clock.advance(100);
  await finished;
}

function words(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `word${i}${i % 17 === 16 ? '\n\n' : ' '}`);
}

describe('StreamConsumer', () => {
  it('sends the first message after first_chunk_chars and ends with exactly the answer', async () => {
    const { clock, platform, consumer } = setup();
    consumer.pushText('Hello');
    await clock.advance(10);
    assert.equal(platform.ops().length, 0, 'nothing sent below first_chunk_chars');
    consumer.pushText(', this is a reply long enough to show.');
    await clock.advance(10);
    assert.equal(platform.ops().length, 1);
    assert.equal(platform.ops()[0]!.text, 'Hello, this is a reply long enough to show. ▌');
    assert.equal(platform.ops()[0]!.replyToInbound, true);
    consumer.pushText(' And more.');
    await finish(consumer, clock);
    assert.deepEqual(platform.visible(), ['Hello, this is a reply long enough to show. And more.']);
  });

  it('sends a short first chunk after one second', async () => {
    const { clock, platform, consumer } = setup();
    consumer.pushText('Hi');
    await clock.advance(999);
    assert.equal(platform.ops().length, 0);
    await clock.advance(1);
    assert.deepEqual(
      platform.ops().map((call) => call.text),
      ['Hi ▌'],
    );
    await finish(consumer, clock);
    assert.deepEqual(platform.visible(), ['Hi']);
  });

  it('edits no more often than edit_interval_ms and coalesces deltas in between', async () => {
    const { clock, platform, consumer } = setup({ settings: { editIntervalMs: 1200 } });
    const tokens = words(300);
    await stream(consumer, clock, tokens, 20); // 6 s at 50 tokens/s
    await finish(consumer, clock);
    const ops = platform.ops();
    for (let i = 1; i < ops.length - 1; i++) {
      assert.ok(
        ops[i]!.at - ops[i - 1]!.at >= 1200,
        `ops ${i - 1} and ${i} only ${ops[i]!.at - ops[i - 1]!.at} ms apart`,
      );
    }
    assert.ok(ops.length <= Math.ceil(6000 / 1200) + 2, `${ops.length} operations`);
    assert.deepEqual(platform.visible(), [tokens.join('')]);
  });

  it('edits a group chat no more often than the group interval, a private chat at the normal one', async () => {
    const intervals = { editIntervalMs: 1000, groupEditIntervalMs: 3000 };
    const tokens = words(150); // 12 s, one message
    const gaps = async (chat: ReplyTarget) => {
      const { clock, platform, consumer } = setup({ settings: intervals, target: chat });
      await stream(consumer, clock, tokens, 80);
      await finish(consumer, clock);
      assert.deepEqual(platform.visible(), [tokens.join('')]);
      // The final render is exempt from the interval (it must not hold the answer back).
      const ops = platform.ops().slice(0, -1);
      return ops.slice(1).map((op, i) => op.at - ops[i]!.at);
    };
    const group = await gaps(groupTarget);
    assert.ok(group.length >= 2, `${group.length + 2} group operations`);
    assert.ok(group.length <= Math.ceil(12000 / 3000), `${group.length + 2} group operations`);
    assert.ok(
      group.every((gap) => gap >= 3000),
      `group edits only ${Math.min(...group)} ms apart`,
    );
    const private_ = await gaps(target);
    assert.ok(private_.every((gap) => gap >= 1000));
    assert.ok(Math.min(...private_) < 3000, 'private chats keep the faster interval');
    assert.ok(private_.length > 2 * group.length, `${private_.length} vs ${group.length} gaps`);
  });

  it('uses the private interval in group chats when no group interval is set', async () => {
    const { clock, platform, consumer } = setup({ settings: { editIntervalMs: 1000 }, target: groupTarget });
    await stream(consumer, clock, words(300), 20);
    await finish(consumer, clock);
    const ops = platform.ops().slice(0, -1);
    const gaps = ops.slice(1).map((op, i) => op.at - ops[i]!.at);
    assert.ok(gaps.every((gap) => gap >= 1000));
    assert.ok(Math.min(...gaps) < 3000);
  });

  it('skips edits that would not change the text', async () => {
    const { clock, platform, consumer } = setup({ settings: { cursor: '' } });
    consumer.pushText('A complete answer that is longer than thirty characters.');
    await clock.advance(5000);
    consumer.pushText('');
    await clock.advance(5000);
    await finish(consumer, clock);
    assert.deepEqual(
      platform.ops().map((call) => call.op),
      ['send'],
    );
  });

  it('continues in a new message past 4096 characters, keeping code fences intact', async () => {
    const { clock, platform, consumer } = setup();
    const code = Array.from({ length: 350 }, (_, i) => `const line${i} = compute(${i}); // step`).join('\n');
    const answer = `Intro paragraph.\n\n\`\`\`ts\n${code}\n\`\`\`\n\nThat is all.`;
    const tokens = answer.match(/[\s\S]{1,7}/g)!;
    await stream(consumer, clock, tokens, 10);
    await finish(consumer, clock);
    const visible = platform.visible();
    assert.ok(visible.length >= 3, `${visible.length} messages`);
    for (const message of visible) {
      assert.ok(message.length <= 4096);
      assert.equal((message.match(/^```/gm) ?? []).length % 2, 0, 'fences balanced in every message');
      assert.ok(!message.includes('▌'), 'no cursor left behind');
    }
    for (const message of visible.slice(1, -1)) assert.ok(message.startsWith('```ts\n'));
    const normalise = (t: string) => t.replace(/```(ts)?/g, '').replace(/\s+/g, '');
    assert.equal(normalise(visible.join('')), normalise(answer));
    assert.equal(platform.ops().filter((call) => call.op === 'send')[1]!.replyToInbound, false);
  });

  it('splits at the 2000-character Discord limit and the joined messages are the answer', async () => {
    const { clock, platform, consumer } = setup({ max: 2000 });
    const tokens = words(1500);
    await stream(consumer, clock, tokens, 5);
    await finish(consumer, clock);
    const visible = platform.visible();
    assert.ok(visible.length >= 5);
    for (const message of visible) assert.ok(message.length <= 2000);
    assert.equal(visible.join(''), tokens.join(''));
  });

  it('pauses edits for retry_after on flood control and coalesces what arrived meanwhile', async () => {
    const { clock, platform, consumer } = setup();
    consumer.pushText('The first part of the answer, long enough to send.');
    await clock.advance(10);
    assert.equal(platform.ops().length, 1);
    platform.failNext.push(new FloodControlError(5000));
    for (let i = 0; i < 60; i++) {
      consumer.pushText(` more${i}`);
      await clock.advance(100);
    }
    // One rejected edit at ~1 s, then nothing until the pause is over.
    const floodAt = platform.ops()[0]!.at + 1000;
    const during = platform.ops().filter((call) => call.at > floodAt && call.at < floodAt + 5000);
    assert.equal(during.length, 0, 'no edits during the flood-control pause');
    const after = platform.ops().find((call) => call.at >= floodAt + 5000);
    assert.ok(after?.text?.includes('more40'), 'the first edit after the pause carries the coalesced text');
    await finish(consumer, clock);
    assert.equal(platform.visible()[0], consumer.text);
  });

  it('waits out flood control on the final edit instead of losing text', async () => {
    const { clock, platform, consumer } = setup();
    consumer.pushText('An answer that is long enough to be sent at once.');
    await clock.advance(1500);
    consumer.pushText(' The end.');
    platform.failNext.push(new FloodControlError(3000));
    await finish(consumer, clock);
    assert.deepEqual(platform.visible(), [consumer.text]);
  });

  it('sends the rest as new messages when the message can no longer be edited', async () => {
    const { clock, platform, consumer } = setup();
    const tokens = words(120);
    await stream(consumer, clock, tokens.slice(0, 40), 25);
    platform.failNext.push(new EditFailedError('message to edit not found'));
    await stream(consumer, clock, tokens.slice(40), 25);
    await finish(consumer, clock);
    const visible = platform.visible();
    assert.ok(visible.length >= 2);
    assert.ok(visible[0]!.endsWith(' ▌'), 'the stuck message keeps what it showed');
    assert.equal(visible[0]!.slice(0, -2) + visible.slice(1).join(''), tokens.join(''));
  });

  it('shows a tool progress line while a tool runs and drops it when text resumes', async () => {
    const { clock, platform, consumer } = setup();
    consumer.pushText('Let me look at the files in the workspace.');
    await clock.advance(10);
    consumer.toolStarted('terminal: ls -la');
    await clock.advance(1000);
    assert.equal(
      platform.ops().at(-1)!.text,
      'Let me look at the files in the workspace. ▌\n\n⚙ terminal: ls -la',
    );
    consumer.pushText(' There are three files.');
    await clock.advance(1000);
    assert.ok(!platform.ops().at(-1)!.text!.includes('⚙'));
    await finish(consumer, clock);
    assert.deepEqual(platform.visible(), [
      'Let me look at the files in the workspace. There are three files.',
    ]);
  });

  it('shows tool progress before any text and replaces it with the answer', async () => {
    const { clock, platform, consumer } = setup();
    consumer.toolStarted('terminal: ls -la');
    await clock.advance(10);
    assert.deepEqual(
      platform.ops().map((call) => call.text),
      ['⚙ terminal: ls -la'],
    );
    consumer.pushText('Three files.');
    await finish(consumer, clock);
    assert.deepEqual(platform.visible(), ['Three files.']);
  });

  it('with streaming disabled sends the complete reply once at the end, split', async () => {
    const { clock, platform, consumer } = setup({ max: 2000, settings: { enabled: false } });
    const tokens = words(700);
    consumer.toolStarted('terminal: ls');
    await stream(consumer, clock, tokens, 20);
    assert.equal(platform.ops().length, 0);
    await finish(consumer, clock);
    const ops = platform.ops();
    assert.ok(ops.length >= 2);
    assert.ok(ops.every((call) => call.op === 'send'));
    assert.equal(platform.visible().join(''), tokens.join(''));
  });

  it('re-sends the typing indicator every few seconds until the reply is done', async () => {
    const { clock, platform, consumer } = setup();
    await clock.advance(9000);
    assert.equal(platform.calls.filter((call) => call.op === 'typing').length, 3);
    consumer.pushText('done');
    await finish(consumer, clock);
    await clock.advance(10_000);
    assert.equal(platform.calls.filter((call) => call.op === 'typing').length, 3);
  });

  it('gives a native stream the answer text only, never the cursor or a tool-progress line', async () => {
    const clock = new ManualClock();
    const platform = new RecordingPlatform(clock);
    const updates: string[] = [];
    platform.native = {
      update: async (text) => {
        updates.push(text);
      },
      finish: async () => {},
      cancel: async () => {},
    };
    const consumer = new StreamConsumer({ platform, target, settings: settings(), clock });
    consumer.toolStarted('terminal: ls -la');
    await clock.advance(3000);
    assert.deepEqual(updates, [], 'a progress line alone is not streamed');
    const first = words(40);
    await stream(consumer, clock, first, 50);
    consumer.toolStarted('files: read notes.md');
    await clock.advance(3000);
    const second = words(5);
    await stream(consumer, clock, second, 50);
    await finish(consumer, clock);
    const answer = [...first, ...second].join('');
    assert.ok(updates.length >= 2);
    for (const update of updates) assert.ok(answer.startsWith(update), `not answer text: ${update}`);
  });

  it('uses a native stream when the platform offers one, falling back to edits if it fails', async () => {
    const updates: string[] = [];
    let finished = '';
    const clock = new ManualClock();
    const platform = new RecordingPlatform(clock);
    platform.native = {
      update: async (text) => {
        updates.push(text);
      },
      finish: async (text) => {
        finished = text;
      },
      cancel: async () => {},
    };
    const consumer = new StreamConsumer({ platform, target, settings: settings(), clock });
    const tokens = words(100);
    await stream(consumer, clock, tokens, 20);
    await finish(consumer, clock);
    assert.ok(updates.length >= 2);
    assert.equal(finished, tokens.join(''));
    assert.equal(platform.ops().length, 0);

    const clock2 = new ManualClock();
    const platform2 = new RecordingPlatform(clock2);
    platform2.native = {
      update: async () => {
        throw new Error('Bad Request: method not found');
      },
      finish: async () => assert.fail('finish on a failed native stream'),
      cancel: async () => {},
    };
    const fallback = new StreamConsumer({ platform: platform2, target, settings: settings(), clock: clock2 });
    await stream(fallback, clock2, tokens, 20);
    await finish(fallback, clock2);
    assert.ok(platform2.ops().length >= 2);
    assert.deepEqual(platform2.visible(), [tokens.join('')]);
  });
});
