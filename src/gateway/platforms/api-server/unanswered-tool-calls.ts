/**
 * OpenAI's rule for a chat transcript: an assistant message with tool calls is followed by one tool
 * message per call before any other message. Upstreams reject a transcript that breaks it, so the chat
 * route refuses such requests and the session store never builds one. It only inspects; callers decide.
 */
import type { ChatMessage } from '../../../model/types.ts';

/** The first assistant message whose calls are not all answered, with the ids left open. */
export function firstUnansweredToolCalls(
  messages: ChatMessage[],
): { index: number; callIds: string[] } | undefined {
  for (const [index, message] of messages.entries()) {
    if (message.role !== 'assistant' || !message.toolCalls) continue;
    const answered = new Set<string>();
    for (const next of messages.slice(index + 1)) {
      if (next.role !== 'tool') break;
      answered.add(next.toolCallId);
    }
    const callIds = message.toolCalls.filter((call) => !answered.has(call.id)).map((call) => call.id);
    if (callIds.length > 0) return { index, callIds };
  }
  return undefined;
}
