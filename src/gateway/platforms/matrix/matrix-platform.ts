/**
 * The Matrix adapter: a matrix-js-sdk client that logs in (access token, or user id + password),
 * long-polls `/sync`, and answers direct chats and, in rooms, messages that mention or reply to the
 * bot — in the thread they came from. Invites from allowed users are joined; others are declined.
 * Replies carry Markdown as `org.matrix.custom.html`, stream by `m.replace` edits and show typing
 * notifications. Messages, edits and redactions are sent with plain authenticated requests rather than
 * the SDK's send queue, because the queue waits out 429s itself and the StreamConsumer must see them
 * (as FloodControlError) to coalesce edits. End-to-end encryption is not supported: an encrypted room
 * gets one plain notice saying so and is otherwise ignored. Approval prompts are notices ending in
 * numbered choices: a reply of one of the numbers in the prompt's room answers it (the prompt it
 * replies to, else the oldest open one there), is not passed on as a message once accepted, and the
 * prompt is edited (`m.replace`) to the outcome; pairing offers reach an admin in a direct chat the bot
 * already shares with them. It does not pace, split or retry replies.
 */
import {
  ClientEvent,
  createClient,
  type MatrixClient,
  type MatrixEvent,
  Method,
  type Room,
  RoomEvent,
  type RoomMember,
  RoomMemberEvent,
  SyncState,
} from 'matrix-js-sdk';
import { logger as sdkGlobalLogger } from 'matrix-js-sdk/lib/logger.js';
import type { HeraldConfig } from '../../../config/schema.ts';
import type { Logger } from '../../../logger.ts';
import { NumberedPrompts } from '../../numbered-prompts.ts';
import type { PromptKind } from '../../numbered-reply.ts';
import type {
  ApprovalAnswer,
  ApprovalAnswerResult,
  ChatPlatform,
  InboundMessage,
  ReplyTarget,
  SendOptions,
  SentMessage,
} from '../../types.ts';
import { mapEditError, mapSendError } from './matrix-errors.ts';
import { toMatrixHtml } from './matrix-html.ts';
import { toInboundMessage } from './matrix-inbound.ts';
import { matrixLimits } from './matrix-limits.ts';
import { toMatrixLogger } from './matrix-logger.ts';

export type MatrixConfig = HeraldConfig['platforms']['matrix'] & { homeserver: string };

export interface MatrixPlatformOptions {
  config: MatrixConfig;
  logger: Logger;
}

export const ENCRYPTION_NOTICE =
  'This room is end-to-end encrypted, and Herald does not support encryption yet, so it cannot read ' +
  'messages here. Talk to it in an unencrypted room or direct chat.';

/** How long a typing notification lasts unless renewed (the StreamConsumer renews every 4 s). */
const TYPING_TIMEOUT_MS = 6000;
/** Own event ids remembered to recognise replies to the bot. */
const MAX_REMEMBERED_EVENTS = 2000;

type MessageContent = Record<string, unknown>;
/** Replies are text; approval prompts are notices (what bots send, so other bots do not answer them). */
type MessageType = 'm.text' | 'm.notice';

export class MatrixPlatform implements ChatPlatform {
  readonly name = 'matrix' as const;
  readonly limits = matrixLimits;
  readonly #options: MatrixPlatformOptions;
  readonly #logger: Logger;
  readonly #allowed: ReadonlySet<string>;
  #client: MatrixClient | undefined;
  #userId = '';
  #displayName: string | undefined;
  #handler: ((message: InboundMessage) => void) | undefined;
  /** Events of the first sync are history, not requests; live handling starts once it is done. */
  #live = false;
  readonly #sentEvents = new Set<string>();
  readonly #encryptionNoticeSent = new Set<string>();
  readonly #invitesHandled = new Set<string>();
  readonly #prompts = new NumberedPrompts();

  constructor(options: MatrixPlatformOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ platform: 'matrix' });
    this.#allowed = new Set(options.config.allowed_users);
  }

  onMessage(handler: (message: InboundMessage) => void): void {
    this.#handler = handler;
  }

  onApprovalAnswer(handler: (answer: ApprovalAnswer) => Promise<ApprovalAnswerResult>): void {
    this.#prompts.onAnswer(handler);
  }

  /**
   * The prompt as a notice with numbered choices. A pairing offer is addressed by the admin's user id
   * and goes to a direct chat the bot shares with them (the bot does not open rooms on its own).
   */
  async sendApprovalPrompt(
    target: ReplyTarget,
    text: string,
    requestId: string,
    kind: PromptKind,
  ): Promise<SentMessage> {
    const to = kind === 'pairing' ? { ...target, chatId: this.#directRoom(target.userId) } : target;
    return this.#prompts.send({ requestId, chatId: to.chatId, kind }, text, (body) =>
      this.send(to, body, { replyToInbound: true }, 'm.notice'),
    );
  }

  async closeApprovalPrompt(target: ReplyTarget, prompt: SentMessage, text: string): Promise<void> {
    const roomId = this.#prompts.close(prompt.id) ?? target.chatId;
    await this.edit({ ...target, chatId: roomId }, prompt, text, 'm.notice');
  }

  /** Logs in (or checks the token), starts syncing and resolves once the first sync is processed. */
  async start(): Promise<void> {
    if (this.#client) return;
    quietSdkGlobalLogger();
    const { config } = this.#options;
    const logger = toMatrixLogger(this.#logger);
    const credentials = await this.#login(logger);
    const client = createClient({ baseUrl: config.homeserver, ...credentials, logger });
    useUnrefTimeouts(client);
    this.#userId = credentials.userId;
    this.#displayName = await client
      .getProfileInfo(credentials.userId, 'displayname')
      .then((profile) => profile.displayname)
      .catch(() => undefined);
    client.on(RoomEvent.Timeline, (event, room, toStartOfTimeline) => {
      if (!toStartOfTimeline && room) this.#timeline(event, room);
    });
    client.on(RoomMemberEvent.Membership, (event, member) => this.#membership(event, member));
    client.on(RoomEvent.MyMembership, (room, membership) => {
      // The room's state (encryption included) is known once the join has synced.
      if (membership === 'join' && this.#invitesHandled.has(room.roomId) && room.hasEncryptionStateEvent()) {
        this.#refuseEncrypted(room.roomId);
      }
    });
    this.#client = client;
    const prepared = new Promise<void>((resolve, reject) => {
      const onSync = (state: SyncState, _previous: SyncState | null, data?: { error?: Error }) => {
        if (state === SyncState.Prepared) {
          client.off(ClientEvent.Sync, onSync);
          resolve();
        } else if (state === SyncState.Error) {
          client.off(ClientEvent.Sync, onSync);
          reject(data?.error ?? new Error('Matrix sync failed'));
        }
      };
      client.on(ClientEvent.Sync, onSync);
    });
    try {
      await client.startClient({ initialSyncLimit: 1, lazyLoadMembers: false });
      await prepared;
    } catch (error) {
      client.stopClient();
      client.removeAllListeners();
      this.#client = undefined;
      throw error;
    }
    this.#live = true;
    this.#logger.info({ event: 'matrix.ready', userId: this.#userId }, 'Matrix client syncing');
  }

  async stop(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#live = false;
    if (!client) return;
    client.stopClient();
    client.removeAllListeners();
  }

  async send(
    target: ReplyTarget,
    text: string,
    options?: SendOptions,
    msgtype: MessageType = 'm.text',
  ): Promise<SentMessage> {
    const content: MessageContent = { ...formatted(text, msgtype), 'm.mentions': {} };
    const replyTo = { 'm.in_reply_to': { event_id: target.inboundMessageId } };
    if (target.threadId) {
      // Thread replies quote the inbound message only when asked; otherwise the relation falls back.
      content['m.relates_to'] = {
        rel_type: 'm.thread',
        event_id: target.threadId,
        is_falling_back: !options?.replyToInbound,
        ...replyTo,
      };
    } else if (options?.replyToInbound && !target.isPrivate) {
      content['m.relates_to'] = replyTo;
      content['m.mentions'] = { user_ids: [target.userId] };
    }
    try {
      const id = await this.#sendEvent(target.chatId, 'm.room.message', content);
      this.#remember(id);
      return { id };
    } catch (error) {
      throw mapSendError(error);
    }
  }

  async edit(
    target: ReplyTarget,
    message: SentMessage,
    text: string,
    msgtype: MessageType = 'm.text',
  ): Promise<void> {
    const content: MessageContent = {
      msgtype,
      // Fallback for clients without edit support; the rendered reply is in m.new_content.
      body: `* ${text}`,
      'm.new_content': { ...formatted(text, msgtype), 'm.mentions': {} },
      'm.relates_to': { rel_type: 'm.replace', event_id: message.id },
      'm.mentions': {},
    };
    try {
      await this.#sendEvent(target.chatId, 'm.room.message', content);
    } catch (error) {
      throw mapEditError(error);
    }
  }

  async delete(target: ReplyTarget, message: SentMessage): Promise<void> {
    const client = this.#requireClient();
    const path = `/rooms/${encodeURIComponent(target.chatId)}/redact/${encodeURIComponent(message.id)}/${encodeURIComponent(client.makeTxnId())}`;
    try {
      await client.http.authedRequest(Method.Put, path, undefined, {});
    } catch (error) {
      throw mapSendError(error);
    }
  }

  async sendTyping(target: ReplyTarget): Promise<void> {
    await this.#requireClient().sendTyping(target.chatId, true, TYPING_TIMEOUT_MS);
  }

  async #login(
    logger: ReturnType<typeof toMatrixLogger>,
  ): Promise<{ accessToken: string; userId: string; deviceId?: string }> {
    const { config } = this.#options;
    const baseUrl = config.homeserver;
    if (config.access_token) {
      const probe = createClient({ baseUrl, accessToken: config.access_token, logger });
      const whoami = await probe.whoami();
      return {
        accessToken: config.access_token,
        userId: whoami.user_id,
        ...(whoami.device_id ? { deviceId: whoami.device_id } : {}),
      };
    }
    if (!config.user_id || !config.password) {
      throw new Error('Matrix needs MATRIX_ACCESS_TOKEN, or MATRIX_USER_ID and MATRIX_PASSWORD');
    }
    const login = await createClient({ baseUrl, logger }).loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: config.user_id },
      password: config.password,
      initial_device_display_name: 'Herald',
    });
    return { accessToken: login.access_token, userId: login.user_id, deviceId: login.device_id };
  }

  /** PUT /rooms/{room}/send/{type}/{txn} directly, bypassing the SDK's retrying send queue. */
  async #sendEvent(roomId: string, type: string, content: MessageContent): Promise<string> {
    const client = this.#requireClient();
    const path = `/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(type)}/${encodeURIComponent(client.makeTxnId())}`;
    const response = await client.http.authedRequest<{ event_id: string }>(
      Method.Put,
      path,
      undefined,
      content,
    );
    return response.event_id;
  }

  #remember(eventId: string): void {
    this.#sentEvents.add(eventId);
    if (this.#sentEvents.size > MAX_REMEMBERED_EVENTS) {
      this.#sentEvents.delete(this.#sentEvents.values().next().value!);
    }
  }

  #timeline(event: MatrixEvent, room: Room): void {
    if (!this.#live || event.getSender() === this.#userId) return;
    if (
      event.getType() === 'm.room.encrypted' ||
      (room.hasEncryptionStateEvent() && event.getType() === 'm.room.message')
    ) {
      this.#refuseEncrypted(room.roomId);
      return;
    }
    if (event.getType() !== 'm.room.message' || !this.#handler) return;
    const inbound = toInboundMessage(
      {
        eventId: event.getId() ?? '',
        roomId: room.roomId,
        sender: event.getSender() ?? '',
        content: event.getContent(),
      },
      {
        botUserId: this.#userId,
        botDisplayName: this.#displayName,
        joinedMembers: room.getJoinedMemberCount(),
        isBotEvent: (id) => this.#sentEvents.has(id) || room.findEventById(id)?.getSender() === this.#userId,
      },
    );
    if (!inbound) return;
    const relation = event.getContent()['m.relates_to'] as
      | { 'm.in_reply_to'?: { event_id?: string } }
      | undefined;
    this.#prompts.route(
      { ...inbound, quotedId: relation?.['m.in_reply_to']?.event_id },
      () => this.#deliver(inbound),
      (error) => this.#logger.error({ event: 'matrix.approval_answer_failed', err: error }),
    );
  }

  #deliver(inbound: InboundMessage): void {
    if (!this.#handler) return;
    try {
      this.#handler(inbound);
    } catch (error) {
      this.#logger.error({ event: 'matrix.handler_failed', err: error });
    }
  }

  /** A joined two-member room with `userId`: the direct chat to reach them in. */
  #directRoom(userId: string): string {
    const room = this.#requireClient()
      .getRooms()
      .find(
        (candidate) =>
          candidate.getMyMembership() === 'join' &&
          candidate.getJoinedMemberCount() === 2 &&
          candidate.getMember(userId)?.membership === 'join',
      );
    if (!room) throw new Error(`matrix: no direct chat with ${userId} to offer the pairing code in`);
    return room.roomId;
  }

  /** Joins invites from allowed users (pending ones at start too) and declines the rest. */
  #membership(event: MatrixEvent | undefined, member: RoomMember): void {
    if (member.userId !== this.#userId || member.membership !== 'invite') return;
    const roomId = member.roomId;
    if (this.#invitesHandled.has(roomId)) return;
    this.#invitesHandled.add(roomId);
    const client = this.#client;
    if (!client) return;
    const inviter = event?.getSender() ?? '';
    if (!this.#options.config.auto_join || !this.#allowed.has(inviter)) {
      this.#logger.info(
        { event: 'matrix.invite_declined', roomId, inviter },
        'invite from a user not allowed',
      );
      void client.leave(roomId).catch((error: unknown) => {
        this.#logger.warn({ event: 'matrix.invite_decline_failed', roomId, err: error });
      });
      return;
    }
    void client
      .joinRoom(roomId)
      .then(() => {
        this.#logger.info({ event: 'matrix.invite_joined', roomId, inviter }, 'joined on invite');
      })
      .catch((error: unknown) => {
        this.#invitesHandled.delete(roomId);
        this.#logger.warn({ event: 'matrix.join_failed', roomId, err: error });
      });
  }

  /** One plain notice per encrypted room (per run): the bot cannot read or answer there. */
  #refuseEncrypted(roomId: string): void {
    if (this.#encryptionNoticeSent.has(roomId)) return;
    this.#encryptionNoticeSent.add(roomId);
    this.#logger.warn({ event: 'matrix.encrypted_room', roomId }, 'encrypted room: not supported, ignoring');
    void this.#sendEvent(roomId, 'm.room.message', { msgtype: 'm.notice', body: ENCRYPTION_NOTICE }).catch(
      (error: unknown) => {
        this.#logger.warn({ event: 'matrix.encryption_notice_failed', roomId, err: error });
      },
    );
  }

  #requireClient(): MatrixClient {
    if (!this.#client) throw new Error('Matrix platform is not started');
    return this.#client;
  }
}

/**
 * matrix-js-sdk arms a plain `setTimeout` for every request with a local timeout (110 s for each
 * long-poll sync) and never clears it, so a stopped client keeps its process alive for up to two
 * minutes. The same timeout given as an `AbortSignal.timeout` (unref'd, cleared with the request)
 * avoids that; a request that times out then fails as a connection error, which the sync loop retries.
 */
function useUnrefTimeouts(client: MatrixClient): void {
  const http = client.http;
  const request = http.requestOtherUrl.bind(http);
  http.requestOtherUrl = ((method, url, body, opts) => {
    if (opts?.localTimeoutMs === undefined) return request(method, url, body, opts);
    const { localTimeoutMs, abortSignal, ...rest } = opts;
    const timeout = AbortSignal.timeout(localTimeoutMs);
    return request(method, url, body, {
      ...rest,
      abortSignal: abortSignal ? AbortSignal.any([timeout, abortSignal]) : timeout,
    });
  }) as typeof http.requestOtherUrl;
}

/**
 * The SDK's module-wide loglevel logger (its RTC code logs through children of it) prints debug
 * lines to the console. Children copy the root's method factory when created, so replacing it once
 * keeps only warnings and errors for every room created later.
 */
function quietSdkGlobalLogger(): void {
  const root = sdkGlobalLogger as unknown as {
    methodFactory: (method: string, level: number, name: string | symbol) => (...args: unknown[]) => void;
    rebuild?: () => void;
    quieted?: boolean;
  };
  if (root.quieted) return;
  const original = root.methodFactory;
  root.methodFactory = (method, level, name) =>
    method === 'warn' || method === 'error' ? original(method, level, name) : () => {};
  root.quieted = true;
  root.rebuild?.();
}

function formatted(text: string, msgtype: MessageType): MessageContent {
  return {
    msgtype,
    body: text,
    format: 'org.matrix.custom.html',
    formatted_body: toMatrixHtml(text),
  };
}
