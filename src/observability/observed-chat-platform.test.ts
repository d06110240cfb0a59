import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatPlatform, ReplyTarget, SentMessage } from '../gateway/index.ts';
import { observeChatPlatform } from './observed-chat-platform.ts';

/** A platform with private state and the optional capabilities a decorator must not drop. */
class ApprovingPlatform {
  readonly name = 'telegram';
  readonly limits = { maxMessageChars: 4096 };
  readonly silentRefusals = true;
  readonly everyReplica = true;
  readonly #sent: string[] = [];
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  onMessage(): void {}
  async send(_target: ReplyTarget, text: string): Promise<SentMessage> {
    this.#sent.push(text);
    return { id: String(this.#sent.length) };
  }
  async edit(): Promise<void> {}
  async delete(): Promise<void> {}
  async sendTyping(): Promise<void> {}
  async sendApprovalPrompt(): Promise<SentMessage> {
    this.#sent.push('prompt');
    return { id: 'p' };
  }
  onApprovalAnswer(): void {}
  async closeApprovalPrompt(): Promise<void> {}
  sent(): string[] {
    return this.#sent;
  }
}

test('the metrics decorator keeps every optional capability of the platform it counts for', async () => {
  const platform = new ApprovingPlatform();
  const actions: string[] = [];
  const observed = observeChatPlatform(platform as unknown as ChatPlatform, {
    platformMessage: (_name, action) => actions.push(action),
    platformRateLimited: () => {},
  });
  assert.equal(observed.silentRefusals, true);
  assert.equal(observed.everyReplica, true);
  assert.equal(typeof observed.sendApprovalPrompt, 'function');
  assert.equal(typeof observed.onApprovalAnswer, 'function');
  assert.equal(typeof observed.closeApprovalPrompt, 'function');
  const target = { chatId: '1' } as unknown as ReplyTarget;
  await observed.send(target, 'hello');
  await observed.sendApprovalPrompt?.(target, 'run rm -rf build?', 'req_1', 'tool');
  assert.deepEqual(platform.sent(), ['hello', 'prompt'], 'calls reach the platform, private state included');
  assert.deepEqual(actions, ['send'], 'sends are counted');
});
