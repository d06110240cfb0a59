/**
 * Keeps the agent's context across stateless Chat Completions requests. Frontends send back only the
 * visible text of a conversation; the server keeps the full transcript (tool calls and results) in the
 * TranscriptStore and finds it again either by the `X-Herald-Session-Id` header or, without it, by a hash
 * of the visible history — reused only on an exact turn-for-turn match, otherwise the request's messages
 * are the truth. Lookups are scoped by credentials, profile and end user, so one caller can never pick
 * up another's transcript. The caller's system prompt is not part of the scope: frontends put the time
 * (NextChat, to the second), the date or retrieved context (AnythingLLM) in it, so it changes every turn;
 * each turn uses the system prompt it was sent with. It does not run the agent; the route does.
 */
import { createHash } from 'node:crypto';
import { type ContextCompaction, compactedConversation } from '../../../agent/index.ts';
import type { ChatMessage, ToolCall } from '../../../model/types.ts';
import type { TranscriptState, TranscriptStore } from '../../../store/index.ts';
import { firstUnansweredToolCalls } from './unanswered-tool-calls.ts';

export const SESSION_HEADER = 'x-herald-session-id';

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

/**
 * Who may share transcripts: same owner (API key), same profile, same end user. The version tag keeps
 * these scopes apart from the older ones that also hashed the caller's system prompts (see
 * `SCOPE_VERSION`); transcripts stored under those are no longer found and age out with `prune`.
 */
export function sessionScope(parts: {
  owner: string;
  profileId: string;
  endUser: string | undefined;
}): string {
  return sha256(JSON.stringify([SCOPE_VERSION, parts.owner, parts.profileId, parts.endUser ?? null]));
}

/** Version 2: the caller's system prompts left the scope (version 1 hashed them in, without a tag). */
const SCOPE_VERSION = 2;

/**
 * The visible form of messages: user texts (images by URL digest), non-empty assistant replies, and
 * the client's own tool calls (by id) and results (by id and digest). The agent's own tool calls never
 * reach the client, so a transcript holding them still matches the client's history turn for turn, and
 * tool rounds with no text between them stay tell-apart.
 */
export function visibleTurns(messages: ChatMessage[]): string[] {
  const turns: string[] = [];
  for (const message of messages) {
    if (message.role === 'user') {
      const text =
        typeof message.content === 'string'
          ? message.content
          : message.content
              .map((p) => (p.type === 'text' ? p.text : `[image ${sha256(p.image_url.url).slice(0, 16)}]`))
              .join('\n');
      turns.push(`user:${text.trim()}`);
    } else if (message.role === 'assistant') {
      turns.push(...assistantTurns(message.content ?? '', message.toolCalls ?? []));
    } else if (message.role === 'tool') {
      turns.push(`tool:${message.toolCallId}:${sha256(message.content).slice(0, 16)}`);
    }
  }
  return turns;
}

/**
 * A reasoning block some frontends keep in the reply they store and send back (AnythingLLM wraps
 * `reasoning_content` in `<think>` tags): Herald's transcript never has it in the answer text.
 */
const leadingThinkBlock = /^\s*<think>[\s\S]*?<\/think>/;

/** An assistant reply as the client saw it: its text, then the calls to the client's tools. */
function assistantTurns(content: string, clientToolCalls: ToolCall[]): string[] {
  const turns: string[] = [];
  const text = content.replace(leadingThinkBlock, '').trim();
  if (text) turns.push(`assistant:${text}`);
  if (clientToolCalls.length > 0) turns.push(`tool_calls:${clientToolCalls.map((c) => c.id).join(',')}`);
  return turns;
}

export const visibleHash = (turns: string[]): string => sha256(JSON.stringify(turns));

export interface ResolvedConversation {
  sessionId: string;
  /** What the agent gets: the stored transcript plus the request's new turn, or the request's messages. */
  messages: ChatMessage[];
  /** Visible turns before this run's reply (for the state saved after it). */
  visibleBefore: string[];
  /** True when a stored transcript was reused. */
  continued: boolean;
}

/** Splits a request into its visible history (up to the last assistant reply) and the new turn after it. */
function splitRequest(messages: ChatMessage[]): { history: ChatMessage[]; tail: ChatMessage[] } {
  let last = -1;
  messages.forEach((m, i) => {
    if (m.role === 'assistant') last = i;
  });
  return { history: messages.slice(0, last + 1), tail: messages.slice(last + 1) };
}

export class ChatSessions {
  readonly #store: TranscriptStore;

  constructor(store: TranscriptStore) {
    this.#store = store;
  }

  /**
   * The session id a request belongs to, decided before queueing: the header's if that session exists in
   * this scope (another key's session counts as unknown), else the session whose stored visible history
   * matches the request's, else a new id.
   */
  async sessionIdFor(request: {
    headerSessionId: string | undefined;
    scope: string;
    messages: ChatMessage[];
  }) {
    if (request.headerSessionId) {
      const known = await this.#store.getSession(request.headerSessionId, request.scope);
      if (known) return request.headerSessionId;
    }
    const { history } = splitRequest(request.messages);
    if (history.length > 0) {
      const match = await this.#store.findByVisibleHash(request.scope, visibleHash(visibleTurns(history)));
      if (match) return match.sessionId;
    }
    return this.#store.newSessionId();
  }

  /**
   * Builds the agent's conversation for a request on `sessionId`; call it inside the session's queue slot
   * so it sees the previous run's transcript.
   */
  async resolve(request: {
    sessionId: string;
    viaHeader: boolean;
    scope: string;
    messages: ChatMessage[];
  }): Promise<ResolvedConversation> {
    const { history, tail } = splitRequest(request.messages);
    const historyTurns = visibleTurns(history);
    const hash = visibleHash(historyTurns);
    let state: TranscriptState | undefined;
    if (request.viaHeader) {
      // The header continues the session as one linear log: its latest state, whatever history the
      // client shows, so turns sent concurrently from the same point all land (one after the other, in
      // the session's queue). Regenerating an earlier turn is the no-header path: the visible history
      // finds the earlier state.
      state = await this.#store.getSession(request.sessionId, request.scope);
    } else if (history.length > 0) {
      const match = await this.#store.findByVisibleHash(request.scope, hash);
      if (match?.sessionId === request.sessionId) state = match;
    }
    // A stored run that paused on client tool calls the request does not answer (a header session
    // continued with a fresh message) would hand the upstream an open call: the request is the truth.
    if (state && firstUnansweredToolCalls([...state.messages, ...tail])) state = undefined;
    if (!state) {
      return {
        sessionId: request.sessionId,
        messages: request.messages,
        visibleBefore: visibleTurns(request.messages),
        continued: false,
      };
    }
    return {
      sessionId: request.sessionId,
      messages: [...state.messages, ...tail],
      visibleBefore: [...state.visibleTurns, ...visibleTurns(tail)],
      continued: true,
    };
  }

  /** Stores the transcript after a run, keyed by the visible history including the reply as shown. */
  async save(options: {
    sessionId: string;
    scope: string;
    visibleBefore: string[];
    input: ChatMessage[];
    appended: ChatMessage[];
    shownReply: string;
    /** Calls to the client's tools the reply ended with (the client sends them back with its results). */
    clientToolCalls: ToolCall[];
    /** The run's compaction: the transcript is stored compacted, so the summary is not computed again. */
    compaction?: ContextCompaction | undefined;
  }): Promise<void> {
    const turns = [...options.visibleBefore, ...assistantTurns(options.shownReply, options.clientToolCalls)];
    await this.#store.save({
      sessionId: options.sessionId,
      scope: options.scope,
      visibleTurns: turns,
      visibleHash: visibleHash(turns),
      messages: options.compaction
        ? compactedConversation([...options.input, ...options.appended], options.compaction)
        : [...options.input, ...options.appended],
    });
  }
}
