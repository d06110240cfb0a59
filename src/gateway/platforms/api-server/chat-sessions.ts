/**
 * Keeps the agent's context across stateless Chat Completions requests. Frontends send back only the
 * visible text of a conversation; the server keeps the full transcript (tool calls and results) in the
 * TranscriptStore and finds it again either by the `X-Herald-Session-Id` header or, without it, by a hash
 * of the visible history — reused only on an exact turn-for-turn match, otherwise the request's messages
 * are the truth. Lookups are scoped by credentials, profile, caller system prompts and end user, so one
 * conversation can never pick up another's transcript. It does not run the agent; the route does.
 */
import { createHash } from 'node:crypto';
import { type ContextCompaction, compactedConversation } from '../../../agent/index.ts';
import type { ChatMessage } from '../../../model/types.ts';
import type { TranscriptState, TranscriptStore } from '../../../store/index.ts';

export const SESSION_HEADER = 'x-herald-session-id';

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

/**
 * Digests of recent Authorization headers. A server sees a handful of keys, each on every request, so
 * a small map saves one hash per request; it is bounded (least recently used out) because in
 * unauthenticated mode the header is whatever the client sends.
 */
const authorizationDigests = new Map<string, string>();
const AUTHORIZATION_DIGESTS_MAX = 64;

function authorizationDigest(authorization: string): string {
  let digest = authorizationDigests.get(authorization);
  if (digest === undefined) {
    digest = sha256(authorization);
    if (authorizationDigests.size >= AUTHORIZATION_DIGESTS_MAX) {
      authorizationDigests.delete(authorizationDigests.keys().next().value as string);
    }
  } else {
    // Re-inserting moves the entry to the end: Map iteration order is insertion order.
    authorizationDigests.delete(authorization);
  }
  authorizationDigests.set(authorization, digest);
  return digest;
}

/** Who may share transcripts: same key, same profile, same caller system prompts, same end user. */
export function sessionScope(parts: {
  authorization: string | undefined;
  profileId: string;
  systemPrompts: string[];
  endUser: string | undefined;
}): string {
  return sha256(
    JSON.stringify([
      authorizationDigest(parts.authorization ?? ''),
      parts.profileId,
      parts.systemPrompts,
      parts.endUser ?? null,
    ]),
  );
}

/** The visible form of messages: user texts (images by URL digest) and non-empty assistant replies. */
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
      const text = (message.content ?? '').trim();
      if (text) turns.push(`assistant:${text}`);
    }
  }
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
   * this scope, else the session whose stored visible history matches the request's, else a new id.
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
      // The header continues the session: the state matching the client's history if there is one
      // (a regenerated turn), else its latest state.
      state = await this.#store.getSession(
        request.sessionId,
        request.scope,
        history.length > 0 ? hash : undefined,
      );
    } else if (history.length > 0) {
      const match = await this.#store.findByVisibleHash(request.scope, hash);
      if (match?.sessionId === request.sessionId) state = match;
    }
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
    /** The run's compaction: the transcript is stored compacted, so the summary is not computed again. */
    compaction?: ContextCompaction | undefined;
  }): Promise<void> {
    const turns = [...options.visibleBefore];
    if (options.shownReply.trim()) turns.push(`assistant:${options.shownReply.trim()}`);
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
