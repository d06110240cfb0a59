/**
 * Store contracts. The SQLite implementations sit beside this file; the interfaces are async so a
 * PostgreSQL implementation can serve several gateway replicas later without changing callers.
 */
import type { ChatMessage, Usage } from '../model/types.ts';

/** History of one chat-platform conversation (key: platform + chat + thread [+ user in groups]). */
export interface SessionStore {
  /**
   * The conversation as the model should see it, oldest first: its summary message when it was
   * compacted, then the messages after it (the last `limit` of those when given).
   */
  load(key: string, limit?: number): Promise<ChatMessage[]>;
  append(key: string, messages: ChatMessage[]): Promise<void>;
  /** Records a compaction: `summary` stands for every stored message but the last `keep`. */
  compact(key: string, summary: ChatMessage, keep: number): Promise<void>;
  /** Forgets the conversation (`/new`). */
  reset(key: string): Promise<void>;
  /** Number of stored messages, for `/status`. */
  count(key: string): Promise<number>;
}

/**
 * One Responses API item as stored and served (an input message, an output message, a
 * `function_call`, a `function_call_output`, …): the OpenAI JSON object, always with an id.
 */
export interface ResponseItem {
  id: string;
  type: string;
  [field: string]: unknown;
}

/**
 * Who a stored object belongs to: the API key that created it (`key:<name>` for a named key,
 * `sha256:<prefix>` of an unnamed one) or, on a server without keys, `LOCAL_OWNER`. Rows from before
 * ownership existed belong to `LOCAL_OWNER`.
 */
export const LOCAL_OWNER = 'local';

/**
 * A conversation's model context as compaction left it: the messages (a summary, then the turns after
 * it) and the system prompt layers its items carried. It stands for every item up to the point it
 * was saved at, so loading it never calls the model again.
 */
export interface CompactedContext {
  messages: ChatMessage[];
  systemPrompts: string[];
}

/** What a new turn builds on: the latest compacted context, if any, and the items after it. */
export interface CompactedHistory {
  compacted: CompactedContext | undefined;
  items: ResponseItem[];
}

export type ResponseStatus = 'completed' | 'failed' | 'in_progress' | 'cancelled' | 'queued' | 'incomplete';

/** A stored `/v1/responses` result: the Response JSON as served, plus what chains and listings need. */
export interface StoredResponse {
  id: string;
  status: ResponseStatus;
  /** The full Response object exactly as `GET /v1/responses/{id}` returns it. */
  body: Record<string, unknown>;
  /** The turn's input items, item references already resolved, each with an id. */
  inputItems: ResponseItem[];
  /** The output items (`function_call`, `function_call_output`, `message`), each with an id. */
  outputItems: ResponseItem[];
  previousResponseId: string | null;
  conversationId: string | null;
  /** Unix seconds, as in the Response's `created_at`. */
  createdAt: number;
  /** The owner id of the caller that created it (see `LOCAL_OWNER`). */
  owner: string;
}

/** A Conversations API object (`conv_…`); `name` is Herald's addition for `conversation: "work"`. */
export interface StoredConversation {
  id: string;
  name: string | null;
  /** Unix seconds. */
  createdAt: number;
  metadata: Record<string, string>;
  owner: string;
}

export interface ItemPageQuery {
  /** 1–100. */
  limit: number;
  order: 'asc' | 'desc';
  /** Return items after the item with this id (in `order`). */
  after?: string;
}

/** One page of items in the OpenAI list shape's terms. */
export interface ItemPage {
  data: ResponseItem[];
  firstId: string | null;
  lastId: string | null;
  hasMore: boolean;
}

export interface RetentionPolicy {
  /** Keep at most this many stored responses (the newest). */
  maxStored: number;
  /** Delete responses created more than this many days ago. */
  maxAgeDays: number;
}

/**
 * Responses API state: stored responses with their items, `previous_response_id` chains, and
 * conversations. It stores and resolves items; turning items into model messages is the caller's job.
 * Lookups by id return objects of any owner (callers compare `owner` and answer 404 for another's);
 * lookups that find objects by something a client names (an item id, a conversation name) take the
 * owner and only find that owner's objects.
 */
export interface ResponseStore {
  /** Inserts or replaces a response (a running one is put as `in_progress`, then again when it ends). */
  put(response: StoredResponse): Promise<void>;
  get(id: string): Promise<StoredResponse | undefined>;
  /** True when something was deleted. */
  delete(id: string): Promise<boolean>;
  /** An input or output item of `owner`'s stored responses or conversations, by item id (`item_reference`). */
  getItem(id: string, owner: string): Promise<ResponseItem | undefined>;
  /**
   * The items of the chain ending at response `id`, oldest response first, each response's input
   * items then its output items; undefined when `id` is not stored. Instructions are not items, so
   * they are never inherited.
   */
  chainItems(id: string): Promise<ResponseItem[] | undefined>;
  /** Like `chainItems`, but from the latest compaction saved on the chain (this response or an earlier one). */
  chainHistory(id: string): Promise<CompactedHistory | undefined>;
  /**
   * Saves the context a compacting turn left: on its response (for chains through it) or on its
   * conversation (standing for all items appended so far).
   */
  saveCompaction(
    target: { responseId: string } | { conversationId: string },
    context: CompactedContext,
  ): Promise<void>;
  /** The id of the first response of the chain `id` belongs to (a queue key for serialising turns). */
  chainRoot(id: string): Promise<string | undefined>;
  /** A page of a response's input items; undefined when the response is not stored. */
  listInputItems(id: string, query: ItemPageQuery): Promise<ItemPage | undefined>;

  createConversation(init: {
    owner: string;
    metadata?: Record<string, string>;
    items?: ResponseItem[];
    name?: string;
  }): Promise<StoredConversation>;
  getConversation(id: string): Promise<StoredConversation | undefined>;
  /** `owner`'s conversations, newest first, at most `limit`. */
  listConversations(owner: string, limit: number): Promise<StoredConversation[]>;
  /**
   * `owner`'s conversation named `name` (`conversation: "work"`), created on first use; concurrent
   * first uses all get the same conversation.
   */
  conversationByName(name: string, owner: string): Promise<StoredConversation>;
  updateConversation(id: string, metadata: Record<string, string>): Promise<StoredConversation | undefined>;
  deleteConversation(id: string): Promise<boolean>;
  /** Appends items in order; false when the conversation does not exist. */
  appendConversationItems(id: string, items: ResponseItem[]): Promise<boolean>;
  /** All items of a conversation, oldest first (the history prepended to a new turn). */
  conversationItems(id: string): Promise<ResponseItem[] | undefined>;
  /** Like `conversationItems`, but from the conversation's latest compaction. */
  conversationHistory(id: string): Promise<CompactedHistory | undefined>;
  listConversationItems(id: string, query: ItemPageQuery): Promise<ItemPage | undefined>;
  getConversationItem(conversationId: string, itemId: string): Promise<ResponseItem | undefined>;
  deleteConversationItem(conversationId: string, itemId: string): Promise<boolean>;

  /**
   * Marks responses left `in_progress` or `queued` by a previous process (killed, crashed, disk full)
   * as `incomplete` with reason `interrupted`, keeping the output stored so far. Call once at start,
   * before serving. Returns how many were marked.
   */
  markInterrupted(): Promise<number>;

  /** Applies retention, oldest first; returns how many responses were deleted. */
  prune(policy: RetentionPolicy): Promise<number>;
}

/**
 * Serialises turns of one conversation (chain, session) across processes sharing a store: `hold` runs
 * `work` while no other process holds `key`. In one process the ConversationQueue orders turns; this
 * keeps two replicas from interleaving the read-modify-write of a turn. SQLite needs none (one serve
 * per HERALD_HOME).
 */
export interface TurnLock {
  hold<T>(key: string, work: () => Promise<T>): Promise<T>;
}

/** A kept result of an `Idempotency-Key` request: what the first request answered. */
export interface IdempotentResult {
  status: number;
  contentType: string | undefined;
  payload: string;
}

/** What `IdempotencyStore.claim` found for a key. */
export type IdempotencyClaim =
  /** Nobody has this key (or its earlier holder gave it up or vanished): the caller runs the request. */
  | { state: 'claimed' }
  /** The first request finished: replay its result. */
  | { state: 'done'; result: IdempotentResult }
  /** The first request is still running elsewhere: ask again later. */
  | { state: 'running' }
  /** The key was used with a different body. */
  | { state: 'conflict' };

/**
 * `Idempotency-Key` results shared by replicas, so a retry landing on another replica gets the first
 * result. Keys arrive hashed and scoped by the caller; results expire after `ttlMs`.
 */
export interface IdempotencyStore {
  claim(key: string, bodyHash: string, ttlMs: number): Promise<IdempotencyClaim>;
  /** Keeps the claimed request's result. */
  complete(key: string, result: IdempotentResult): Promise<void>;
  /** Gives a claimed key up (the request failed): the next attempt runs afresh. */
  release(key: string): Promise<void>;
}

export type RunStatus =
  | 'queued'
  | 'running'
  | 'waiting_for_approval'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'interrupted';

/** Statuses a run never leaves. */
export const finalRunStatuses: ReadonlySet<RunStatus> = new Set([
  'completed',
  'failed',
  'cancelled',
  'interrupted',
]);

export interface StoredRun {
  id: string;
  owner: string;
  status: RunStatus;
  /** Unix seconds. */
  createdAt: number;
  /** The profile id the run used. */
  model: string;
  /** The stored Response the run produced (chain further turns on it with `previous_response_id`). */
  responseId: string;
  usage: Usage | null;
  outputText: string | null;
  error: { code: string; message: string } | null;
}

export interface RunEvent {
  /** Increasing across all runs: the SSE `id`. */
  seq: number;
  type: string;
  data: Record<string, unknown>;
}

export type RunUpdate = Partial<Pick<StoredRun, 'status' | 'usage' | 'outputText' | 'error'>>;

/**
 * The runs API's state (`/v1/runs`): runs with their status and result, and each run's typed events
 * in order. Unfinished runs of a process (or replica) that is gone are marked `interrupted`.
 */
export interface RunStore {
  create(run: StoredRun): Promise<void>;
  update(id: string, update: RunUpdate): Promise<void>;
  get(id: string): Promise<StoredRun | undefined>;
  appendEvent(runId: string, type: string, data: Record<string, unknown>): Promise<RunEvent>;
  /** The run's events after `after` (a seq; 0 for all), in order. */
  events(runId: string, after: number): Promise<RunEvent[]>;
  /**
   * Marks unfinished runs whose process is gone as `interrupted`, each with a final `run.interrupted`
   * event; returns how many.
   */
  markInterrupted(): Promise<number>;
}

/** `always` answers to approval requests (patterns like `terminal:recursive-delete:rm`). */
export interface ApprovalRuleStore {
  has(pattern: string): Promise<boolean>;
  add(pattern: string): Promise<void>;
}

export interface PairingRequest {
  code: string;
  platform: string;
  userId: string;
  userName: string | null;
  status: 'pending' | 'denied';
  /** Unix ms. */
  createdAt: number;
  expiresAt: number;
}

/** Pairing codes of strangers (`dm_policy: pairing`) and the people paired with them. */
export interface PairingStore {
  /**
   * The person's code: `fresh` when minted now (send it), not fresh when one is still pending or was
   * denied (stay silent).
   */
  request(
    platform: string,
    userId: string,
    userName?: string,
  ): Promise<{ request: PairingRequest; fresh: boolean }>;
  isPaired(platform: string, userId: string): Promise<boolean>;
  /** Pending (unexpired) requests, oldest first. */
  pending(): Promise<PairingRequest[]>;
  /** Pairs the person behind a pending code; undefined for an unknown, expired or denied code. */
  approve(code: string): Promise<PairingRequest | undefined>;
  /** Refuses a pending code: its person gets no answer until it expires. */
  deny(code: string): Promise<PairingRequest | undefined>;
}

/** What a request on one replica may ask of the replica running a response or a run. */
export type ControlTarget = { kind: 'response' | 'run'; id: string };

/** A command for a running target, as its replica receives it. */
export interface ControlCommand {
  target: ControlTarget;
  action: string;
  payload: Record<string, unknown>;
}

/**
 * Cross-replica control of running responses and runs (cancel, delete, stop, approval answers,
 * steering): `send` hands a command to the live replica that runs the target and resolves with that
 * replica's answer; the handler `serve`d for a kind answers commands addressed to this replica.
 */
export interface ReplicaControl {
  /**
   * The answer of the replica running `target`, or undefined when no other live replica runs it (it
   * ended, was never running, or its replica is gone). Rejects when that replica does not answer in time.
   */
  send(
    target: ControlTarget,
    action: string,
    payload?: Record<string, unknown>,
  ): Promise<{ answer: unknown } | undefined>;
  /** Answers commands for targets of `kind` addressed to this replica (JSON in, JSON out). */
  serve(kind: ControlTarget['kind'], handler: (command: ControlCommand) => Promise<unknown>): void;
}

/**
 * Leader leases of the chat platforms when replicas share a store: a long-polling bot (Telegram
 * getUpdates, a Discord gateway session, Slack Socket Mode, a WhatsApp device) must be connected by one
 * replica at a time. A lease lasts `leaseMs` from its last claim; its holder renews it by claiming again,
 * and any replica may take it once it expired or was released.
 */
export interface PlatformLeases {
  /** This replica's instance id: what `claim` answers when this replica holds the lease. */
  readonly holder: string;
  /** How long a claim holds the lease; claim again well within it to keep it. */
  readonly leaseMs: number;
  /** Takes or renews `platform`'s lease when it is free, expired or ours; returns its holder afterwards. */
  claim(platform: string): Promise<string>;
  /** Gives `platform`'s lease up if this replica holds it, so another may take it at once. */
  release(platform: string): Promise<void>;
}
