/**
 * A loopback fake of a Matrix homeserver's client-server API, enough for a real matrix-js-sdk client
 * to log in, sync and talk: versions, capabilities, push rules, filters, login, whoami, long-polling
 * `/v3/sync` (joined rooms with state and timeline, invites), join/leave, send, redact and typing.
 * Every request is recorded with its method, path, token and body; events the bot sends are echoed
 * back through sync as a real server does. Failures (e.g. 429 M_LIMIT_EXCEEDED) are injected per
 * endpoint kind. It does not model federation, power levels, end-to-end crypto or pagination.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startLoopbackServer } from './loopback-server.ts';

export interface RecordedMatrixCall {
  method: string;
  /** Path without the query string, e.g. `/_matrix/client/v3/rooms/!a:fake/send/m.room.message/t1`. */
  path: string;
  /** `send`, `redact`, `typing`, `join`, `leave`, `sync`, `login`, `whoami`, or `other`. */
  kind: string;
  token: string | undefined;
  body: Record<string, unknown>;
  /** Room id for room-scoped calls. */
  roomId?: string;
}

export interface MatrixEvent {
  event_id: string;
  type: string;
  sender: string;
  room_id: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  state_key?: string;
}

interface FakeRoom {
  id: string;
  /** Positions in the log of this room's events. */
  events: { pos: number; event: MatrixEvent }[];
}

interface LogEntry {
  pos: number;
  roomId: string;
  kind: 'event' | 'invite';
  event: MatrixEvent;
}

export interface InjectedMatrixFailure {
  status: number;
  body: Record<string, unknown>;
}

export interface FakeMatrixHomeserver {
  readonly baseUrl: string;
  readonly botUserId: string;
  readonly accessToken: string;
  readonly password: string;
  readonly calls: RecordedMatrixCall[];
  /** Creates a room the bot has joined, with `members` (the bot included) and optional encryption. */
  createRoom(options: { members: string[]; encrypted?: boolean; name?: string }): string;
  /** Invites the bot into a new room, sent by `inviter`; resolves with the room id. */
  invite(inviter: string, options?: { encrypted?: boolean }): string;
  /** A user sends an event into a room; returns its event id. */
  sendAsUser(roomId: string, sender: string, content: Record<string, unknown>, type?: string): string;
  /** The events (of `type`, default m.room.message) in a room, in order. */
  roomEvents(roomId: string, type?: string): MatrixEvent[];
  /** The latest text of a message the bot sent, following `m.replace` edits (undefined if redacted). */
  visibleText(roomId: string, eventId: string): string | undefined;
  /** The bot's messages in a room that are neither edits nor redacted, with their latest content. */
  botMessages(roomId: string): { eventId: string; content: Record<string, unknown> }[];
  /** Answers the next call of `kind` with the failure. */
  failNext(kind: string, failure: InjectedMatrixFailure): void;
  /** Resolves once the fake has served a sync that included everything logged so far. */
  synced(): Promise<void>;
  close(): Promise<void>;
}

const prefix = '/_matrix/client';

export async function startFakeMatrixHomeserver(): Promise<FakeMatrixHomeserver> {
  const server = 'fake.test';
  const botUserId = `@herald:${server}`;
  const accessToken = 'syt_fake_token';
  const password = 'hunter2';
  const calls: RecordedMatrixCall[] = [];
  const rooms = new Map<string, FakeRoom>();
  const log: LogEntry[] = [];
  const failures: { kind: string; failure: InjectedMatrixFailure }[] = [];
  /** Long-polling syncs waiting for the log to grow. */
  const waiting = new Set<() => void>();
  /** Waiters for a sync that delivered up to a position. */
  const deliveredWaiters: { pos: number; resolve: () => void }[] = [];
  let delivered = 0;
  let counter = 0;
  let closed = false;

  const nextId = (sigil: string) => `${sigil}${++counter}x:${server}`;

  function append(roomId: string, event: MatrixEvent, kind: LogEntry['kind'] = 'event'): void {
    const pos = log.length + 1;
    log.push({ pos, roomId, kind, event });
    if (kind === 'event') rooms.get(roomId)?.events.push({ pos, event });
    for (const wake of waiting) wake();
    waiting.clear();
  }

  function makeEvent(
    roomId: string,
    sender: string,
    type: string,
    content: Record<string, unknown>,
    stateKey?: string,
  ): MatrixEvent {
    return {
      event_id: nextId('$'),
      type,
      sender,
      room_id: roomId,
      origin_server_ts: Date.now(),
      content,
      ...(stateKey !== undefined ? { state_key: stateKey } : {}),
    };
  }

  function createRoom(options: { members: string[]; encrypted?: boolean; name?: string }): string {
    const id = nextId('!');
    rooms.set(id, { id, events: [] });
    const creator = options.members.find((m) => m !== botUserId) ?? botUserId;
    append(id, makeEvent(id, creator, 'm.room.create', { room_version: '10', creator }, ''));
    for (const member of options.members) {
      append(id, makeEvent(id, member, 'm.room.member', { membership: 'join' }, member));
    }
    if (options.name) append(id, makeEvent(id, creator, 'm.room.name', { name: options.name }, ''));
    if (options.encrypted) {
      append(id, makeEvent(id, creator, 'm.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' }, ''));
    }
    return id;
  }

  function invite(inviter: string, options: { encrypted?: boolean } = {}): string {
    const id = nextId('!');
    rooms.set(id, { id, events: [] });
    const state = [
      makeEvent(id, inviter, 'm.room.create', { room_version: '10', creator: inviter }, ''),
      makeEvent(id, inviter, 'm.room.member', { membership: 'join' }, inviter),
    ];
    if (options.encrypted) {
      state.push(makeEvent(id, inviter, 'm.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' }, ''));
    }
    // Kept for the join: the room's state as the bot will see it once it joins.
    for (const event of state) rooms.get(id)!.events.push({ pos: 0, event });
    append(id, makeEvent(id, inviter, 'm.room.member', { membership: 'invite' }, botUserId), 'invite');
    return id;
  }

  function sendAsUser(
    roomId: string,
    sender: string,
    content: Record<string, unknown>,
    type = 'm.room.message',
  ): string {
    const event = makeEvent(roomId, sender, type, content);
    append(roomId, event);
    return event.event_id;
  }

  function roomEvents(roomId: string, type = 'm.room.message'): MatrixEvent[] {
    return (rooms.get(roomId)?.events ?? []).map((e) => e.event).filter((e) => e.type === type);
  }

  function isRedacted(roomId: string, eventId: string): boolean {
    return roomEvents(roomId, 'm.room.redaction').some((e) => e.content.redacts === eventId);
  }

  function latestContent(roomId: string, eventId: string): Record<string, unknown> | undefined {
    const messages = roomEvents(roomId);
    const original = messages.find((e) => e.event_id === eventId);
    if (!original || isRedacted(roomId, eventId)) return undefined;
    let content = original.content;
    for (const event of messages) {
      const relation = event.content['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined;
      if (relation?.rel_type === 'm.replace' && relation.event_id === eventId) {
        content = event.content['m.new_content'] as Record<string, unknown>;
      }
    }
    return content;
  }

  function botMessages(roomId: string) {
    return roomEvents(roomId)
      .filter((e) => e.sender === botUserId)
      .filter(
        (e) => (e.content['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type !== 'm.replace',
      )
      .flatMap((e) => {
        const content = latestContent(roomId, e.event_id);
        return content ? [{ eventId: e.event_id, content }] : [];
      });
  }

  /** Builds a sync response with everything after `since` (everything, for an initial sync). */
  function syncResponse(since: number): Record<string, unknown> {
    const join: Record<
      string,
      { timeline: { events: MatrixEvent[]; limited: boolean }; state: { events: [] } }
    > = {};
    const inviteRooms: Record<string, { invite_state: { events: MatrixEvent[] } }> = {};
    const joinedNow = new Set<string>();
    for (const entry of log) {
      if (
        entry.kind === 'event' &&
        entry.event.type === 'm.room.member' &&
        entry.event.state_key === botUserId
      ) {
        if (entry.event.content.membership === 'join') joinedNow.add(entry.roomId);
        else joinedNow.delete(entry.roomId);
      }
    }
    for (const entry of log) {
      if (entry.pos <= since) continue;
      if (entry.kind === 'invite') {
        if (joinedNow.has(entry.roomId)) continue;
        const state = (rooms.get(entry.roomId)?.events ?? []).filter((e) => e.pos === 0).map((e) => e.event);
        inviteRooms[entry.roomId] = { invite_state: { events: [...state, entry.event] } };
        continue;
      }
      if (!joinedNow.has(entry.roomId)) continue;
      join[entry.roomId] ??= { timeline: { events: [], limited: false }, state: { events: [] } };
      join[entry.roomId]!.timeline.events.push(entry.event);
    }
    return {
      next_batch: String(log.length),
      rooms: { join, invite: inviteRooms, leave: {} },
      account_data: { events: [] },
      presence: { events: [] },
    };
  }

  function reply(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  function handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const token =
      req.headers.authorization?.replace(/^Bearer /, '') ?? url.searchParams.get('access_token') ?? undefined;
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    const roomMatch = /\/rooms\/([^/]+)\/([a-z_]+)/.exec(path);
    const roomId = roomMatch ? decodeURIComponent(roomMatch[1]!) : undefined;
    const kind = callKind(method, path, roomMatch?.[2]);
    calls.push({ method, path, kind, token, body, ...(roomId ? { roomId } : {}) });

    const failure = failures.findIndex((f) => f.kind === kind);
    if (failure !== -1) {
      const injected = failures.splice(failure, 1)[0]!.failure;
      reply(res, injected.status, injected.body);
      return;
    }
    if (path === `${prefix}/versions`) {
      reply(res, 200, { versions: ['v1.1', 'v1.5', 'v1.11'], unstable_features: {} });
      return;
    }
    if (kind === 'login') {
      if (method === 'GET') {
        reply(res, 200, { flows: [{ type: 'm.login.password' }] });
        return;
      }
      const identifier = body.identifier as { user?: string } | undefined;
      const user = identifier?.user ?? (body.user as string | undefined);
      if (body.password !== password || (user !== botUserId && user !== 'herald')) {
        reply(res, 403, { errcode: 'M_FORBIDDEN', error: 'Invalid username or password' });
        return;
      }
      reply(res, 200, { user_id: botUserId, access_token: accessToken, device_id: 'FAKEDEVICE' });
      return;
    }
    if (path.startsWith(`${prefix}/v3/`) && token !== accessToken) {
      reply(res, 401, { errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.' });
      return;
    }
    if (kind === 'whoami') {
      reply(res, 200, { user_id: botUserId, device_id: 'FAKEDEVICE' });
      return;
    }
    if (kind === 'sync') {
      const since = Number(url.searchParams.get('since') ?? 0);
      const timeout = Number(url.searchParams.get('timeout') ?? 0);
      const answer = () => {
        const response = syncResponse(since);
        delivered = Math.max(delivered, log.length);
        for (const waiter of deliveredWaiters.splice(0)) {
          if (waiter.pos <= delivered) waiter.resolve();
          else deliveredWaiters.push(waiter);
        }
        reply(res, 200, response);
      };
      if (log.length > since || timeout === 0 || closed) {
        answer();
        return;
      }
      const timer = setTimeout(
        () => {
          waiting.delete(wake);
          answer();
        },
        Math.min(timeout, 30_000),
      );
      const wake = () => {
        clearTimeout(timer);
        // Let several appends made in one test step arrive in one sync.
        setImmediate(answer);
      };
      waiting.add(wake);
      res.on('close', () => {
        clearTimeout(timer);
        waiting.delete(wake);
      });
      return;
    }
    if (kind === 'join') {
      const target = roomId ?? decodeURIComponent(path.split('/').pop() ?? '');
      if (!rooms.has(target)) {
        reply(res, 404, { errcode: 'M_NOT_FOUND', error: 'No such room' });
        return;
      }
      const room = rooms.get(target)!;
      // The room's state becomes visible to the bot in the timeline it joins.
      for (const entry of room.events.filter((e) => e.pos === 0).splice(0)) {
        room.events = room.events.filter((e) => e !== entry);
        append(target, entry.event);
      }
      append(target, makeEvent(target, botUserId, 'm.room.member', { membership: 'join' }, botUserId));
      reply(res, 200, { room_id: target });
      return;
    }
    if (kind === 'leave' && roomId) {
      append(roomId, makeEvent(roomId, botUserId, 'm.room.member', { membership: 'leave' }, botUserId));
      reply(res, 200, {});
      return;
    }
    if ((kind === 'send' || kind === 'redact') && roomId) {
      const segments = path.split('/');
      if (kind === 'send') {
        const type = decodeURIComponent(segments.at(-2) ?? '');
        const event = makeEvent(roomId, botUserId, type, body);
        append(roomId, event);
        reply(res, 200, { event_id: event.event_id });
      } else {
        const redacts = decodeURIComponent(segments.at(-2) ?? '');
        const event = makeEvent(roomId, botUserId, 'm.room.redaction', { redacts, ...body });
        append(roomId, event);
        reply(res, 200, { event_id: event.event_id });
      }
      return;
    }
    if (kind === 'typing') {
      reply(res, 200, {});
      return;
    }
    if (path.includes('/profile/')) {
      reply(res, 200, { displayname: 'Herald' });
      return;
    }
    if (path.endsWith('/filter') && method === 'POST') {
      reply(res, 200, { filter_id: 'f1' });
      return;
    }
    if (path.includes('/pushrules')) {
      reply(res, 200, { global: { override: [], content: [], room: [], sender: [], underride: [] } });
      return;
    }
    if (path.endsWith('/capabilities')) {
      reply(res, 200, { capabilities: {} });
      return;
    }
    reply(res, 404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  }

  const loopback = await startLoopbackServer({
    onRequest: handle,
    acceptsSocket: () => false,
    onSocket: () => {},
  });

  return {
    baseUrl: `http://127.0.0.1:${loopback.port}`,
    botUserId,
    accessToken,
    password,
    calls,
    createRoom,
    invite,
    sendAsUser,
    roomEvents,
    visibleText: (roomId, eventId) => latestContent(roomId, eventId)?.body as string | undefined,
    botMessages,
    failNext(kind, failure) {
      failures.push({ kind, failure });
    },
    synced() {
      const pos = log.length;
      if (delivered >= pos) return Promise.resolve();
      return new Promise((resolve) => deliveredWaiters.push({ pos, resolve }));
    },
    async close() {
      closed = true;
      for (const wake of waiting) wake();
      waiting.clear();
      await loopback.close();
    },
  };
}

function callKind(method: string, path: string, roomAction: string | undefined): string {
  if (path.endsWith('/login')) return 'login';
  if (path.endsWith('/account/whoami')) return 'whoami';
  if (path.endsWith('/sync')) return 'sync';
  if (path.includes('/join/') || roomAction === 'join') return 'join';
  if (roomAction === 'leave') return 'leave';
  if (roomAction === 'send' && method === 'PUT') return 'send';
  if (roomAction === 'redact') return 'redact';
  if (roomAction === 'typing') return 'typing';
  return 'other';
}
