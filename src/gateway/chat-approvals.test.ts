import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../logger.ts';
import { ChatApprovals } from './chat-approvals.ts';
import { NumberedPrompts } from './numbered-prompts.ts';
import type {
  ApprovalAnswer,
  ApprovalAnswerResult,
  ChatPlatform,
  ReplyTarget,
  SentMessage,
} from './types.ts';

const target: ReplyTarget = { chatId: 'c1', userId: 'alice', inboundMessageId: 'm1', isPrivate: true };
const request = {
  id: 'req_1',
  toolCallId: 'call_1',
  tool: 'terminal',
  arguments: '{"command":"rm -rf build"}',
  reason: 'deletes files recursively',
  pattern: 'terminal:recursive-delete:rm',
};

/**
 * A numbered-reply platform whose prompt is answered by "1" before the send is confirmed — as when the
 * answer's event overtakes the send's response on a loaded machine.
 */
function quickAnswerPlatform(edits: string[], delivered: string[]): ChatPlatform {
  const prompts = new NumberedPrompts();
  return {
    name: 'matrix',
    limits: { maxMessageLength: 1000, countLength: (text) => text.length, defaultEditIntervalMs: 1 },
    start: async () => {},
    stop: async () => {},
    onMessage: () => {},
    send: async (): Promise<SentMessage> => ({ id: 'sent' }),
    edit: async (_target, _message, text) => {
      edits.push(text);
    },
    delete: async () => {},
    sendTyping: async () => {},
    onApprovalAnswer: (handler: (answer: ApprovalAnswer) => Promise<ApprovalAnswerResult>) =>
      prompts.onAnswer(handler),
    sendApprovalPrompt: (to, text, requestId, kind) =>
      prompts.send({ requestId, chatId: to.chatId, kind }, text, async () => {
        prompts.route(
          { chatId: to.chatId, userId: 'alice', text: '1' },
          () => delivered.push('1'),
          (error) => assert.fail(String(error)),
        );
        await new Promise((resolve) => setImmediate(resolve));
        return { id: 'prompt_1' };
      }),
  };
}

describe('ChatApprovals with a numbered-reply platform', () => {
  it('takes an answer that arrives before the prompt send is confirmed, and settles the prompt', async () => {
    const edits: string[] = [];
    const delivered: string[] = [];
    const platform = quickAnswerPlatform(edits, delivered);
    const approvals = new ChatApprovals({ isAdmin: () => false, logger: silentLogger() });
    approvals.attach(platform);
    const asker = approvals.askerFor(platform, target, 'alice')!;
    const decision = await asker(request, new AbortController().signal);
    assert.equal(decision, 'once');
    assert.deepEqual(delivered, [], 'the answer was not passed on as a message');
    assert.equal(edits.length, 1);
    assert.match(edits[0]!, /✅ Approved once$/);
  });
});
