/**
 * The WebSocket mode's connection-local memory: the socket's most recent `store: false` response, with
 * its whole context, so the next turn on the same socket can continue it with `previous_response_id`
 * although it was never stored. Anything else resolves through the store, so stored chains work as over
 * HTTP. It holds one response only, as OpenAI's WebSocket mode does: an older unstored response, or one
 * made on another socket, is not found and the client resends the full context. It does not store.
 */
import type { CompactedHistory, ResponseItem, ResponseStore, StoredResponse } from '../../../store/index.ts';
import type { ChainSource, PreparedTurn } from './responses-routes.ts';
import type { FinishedResponse } from './responses-stream.ts';

interface Remembered {
  response: StoredResponse;
  /** The chain's items up to and including this response: what a continuation sees as history. */
  items: ResponseItem[];
  root: string;
}

export class SocketResponseCache implements ChainSource {
  readonly #store: ResponseStore;
  #last: Remembered | undefined;

  constructor(store: ResponseStore) {
    this.#store = store;
  }

  async get(id: string): Promise<StoredResponse | undefined> {
    return this.#match(id)?.response ?? this.#store.get(id);
  }

  async chainItems(id: string): Promise<ResponseItem[] | undefined> {
    return this.#match(id)?.items ?? this.#store.chainItems(id);
  }

  async chainHistory(id: string): Promise<CompactedHistory | undefined> {
    const last = this.#match(id);
    return last ? { compacted: undefined, items: last.items } : this.#store.chainHistory(id);
  }

  async chainRoot(id: string): Promise<string | undefined> {
    return this.#match(id)?.root ?? this.#store.chainRoot(id);
  }

  /** A create on this socket failed: what it referred to must not be continued (OpenAI evicts too). */
  forget(): void {
    this.#last = undefined;
  }

  /**
   * Records the socket's latest response. Only a finished unstored one is kept; a stored one is in the
   * store, and a failed or cancelled one must not be continued.
   */
  async remember(turn: PreparedTurn, finished: FinishedResponse): Promise<void> {
    const usable = finished.status === 'completed' || finished.status === 'incomplete';
    if (!usable || turn.settings.store) {
      this.forget();
      return;
    }
    const { settings, previous, conversation, inputItems } = turn;
    const history = previous
      ? ((await this.chainItems(previous.id)) ?? [])
      : conversation
        ? ((await this.#store.conversationItems(conversation.id)) ?? [])
        : [];
    const root = previous ? ((await this.chainRoot(previous.id)) ?? previous.id) : settings.id;
    this.#last = {
      response: {
        id: settings.id,
        status: finished.status,
        body: finished.body,
        inputItems,
        outputItems: finished.output,
        previousResponseId: settings.previousResponseId,
        conversationId: settings.conversationId,
        createdAt: settings.createdAt,
        owner: turn.owner,
      },
      items: [...history, ...inputItems, ...finished.output],
      root,
    };
  }

  #match(id: string): Remembered | undefined {
    return this.#last?.response.id === id ? this.#last : undefined;
  }
}
