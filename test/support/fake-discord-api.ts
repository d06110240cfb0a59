/**
 * A loopback fake of Discord for driving a real discord.js Client: REST under `/api/v10` (gateway/bot,
 * users/@me, channel messages POST/PATCH/DELETE, typing) recording every call, and a gateway
 * WebSocket (`ws`) that speaks just enough of the protocol — HELLO, IDENTIFY, READY, GUILD_CREATE,
 * heartbeat ACKs — for the client to become ready, after which the test pushes MESSAGE_CREATE
 * dispatches. Failures are injected per request (`failNext`). It does not model rate-limit buckets,
 * permissions, resumes or compression.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import { startLoopbackServer } from './loopback-server.ts';

export interface RecordedDiscordCall {
  method: string;
  /** Path after `/api/v10`, e.g. `/channels/1/messages`. */
  path: string;
  body: unknown;
}

export interface FakeDiscordUser {
  id: string;
  username: string;
  bot?: boolean;
}

export interface FakeGuild {
  id: string;
  /** Text channels (type 0). */
  channelIds: string[];
  /** Public threads (type 11) under a parent channel. */
  threads?: { id: string; parentId: string }[];
}

export interface PushMessageOptions {
  channelId: string;
  /** Omit for a DM. */
  guildId?: string;
  author: FakeDiscordUser;
  content: string;
  mentions?: FakeDiscordUser[];
  /** Makes the message a reply to this earlier message. */
  replyTo?: { id: string; author: FakeDiscordUser };
}

export interface FakeDiscordMessage {
  channelId: string;
  content: string;
  /** Action rows as last sent; an edit with `components` replaces them. */
  components?: { type: number; components: { custom_id: string; label: string }[] }[];
}

export interface InjectedFailure {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface FakeDiscordApi {
  /** Pass as the REST `api` option: `http://127.0.0.1:PORT/api`. */
  readonly restApi: string;
  readonly botUser: FakeDiscordUser;
  readonly calls: RecordedDiscordCall[];
  /** Content (and button components) of every message the bot has in the fake, by id (deleted ones removed). */
  readonly messages: Map<string, FakeDiscordMessage>;
  /** Answers the next request whose method matches and path matches with the given failure. */
  failNext(method: string, path: RegExp, failure: InjectedFailure): void;
  /** Sends a MESSAGE_CREATE dispatch to every connected gateway session; returns the message id. */
  pushMessage(options: PushMessageOptions): string;
  /**
   * A user presses a button of a bot message in a DM: an INTERACTION_CREATE dispatch; the bot answers
   * at `POST /interactions/{id}/{token}/callback` (recorded in `calls`). Returns the interaction id.
   */
  pressButton(press: {
    channelId: string;
    user: FakeDiscordUser;
    messageId: string;
    customId: string;
  }): string;
  /** Resolves when a gateway session has identified (READY sent). */
  readonly identified: Promise<{ token: string; intents: number }>;
  close(): Promise<void>;
}

let snowflake = 1_300_000_000_000_000_000n;
/** Discord ids are snowflakes; discord.js derives timestamps from them, so they must be numeric. */
export function nextSnowflake(): string {
  snowflake += 1n;
  return snowflake.toString();
}

export async function startFakeDiscordApi(options: { guilds?: FakeGuild[] } = {}): Promise<FakeDiscordApi> {
  const guilds = options.guilds ?? [];
  const botUser: FakeDiscordUser = { id: nextSnowflake(), username: 'herald', bot: true };
  const calls: RecordedDiscordCall[] = [];
  const messages = new Map<string, FakeDiscordMessage>();
  const failures: { method: string; path: RegExp; failure: InjectedFailure }[] = [];
  let sequence = 0;
  let resolveIdentified: (value: { token: string; intents: number }) => void = () => {};
  const identified = new Promise<{ token: string; intents: number }>((resolve) => {
    resolveIdentified = resolve;
  });

  const server = await startLoopbackServer({
    onRequest: handleRest,
    acceptsSocket: (url) => url.startsWith('/gateway'),
    onSocket: onGateway,
  });
  const { port, sockets } = server;

  function handleRest(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const body: unknown = raw.length > 0 ? JSON.parse(raw) : undefined;
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').replace(/^\/api\/v10/, '').split('?')[0] ?? '/';
    calls.push({ method, path, body });

    const injected = failures.find((f) => f.method === method && f.path.test(path));
    if (injected) {
      failures.splice(failures.indexOf(injected), 1);
      reply(res, injected.failure.status, injected.failure.body, injected.failure.headers);
      return;
    }
    const answer = route(method, path, body);
    reply(res, answer.status, answer.body);
  }

  function route(method: string, path: string, body: unknown): FakeResponse {
    if (method === 'GET' && path === '/gateway/bot') {
      return respond(200, {
        url: `ws://127.0.0.1:${port}/gateway`,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 },
      });
    }
    if (method === 'GET' && path === '/users/@me') return respond(200, userPayload(botUser));
    if (method === 'POST' && /^\/interactions\/\d+\/[^/]+\/callback$/.test(path)) return { status: 204 };
    const typing = /^\/channels\/(\d+)\/typing$/.exec(path);
    if (typing && method === 'POST') return { status: 204 };
    const create = /^\/channels\/(\d+)\/messages$/.exec(path);
    if (create?.[1] && method === 'POST') {
      const id = nextSnowflake();
      const { content = '', components } = body as Pick<FakeDiscordMessage, 'content' | 'components'>;
      messages.set(id, {
        channelId: create[1],
        content: String(content),
        ...(components ? { components } : {}),
      });
      return respond(200, messagePayload({ id, channelId: create[1], author: botUser, content }));
    }
    const one = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(path);
    if (one?.[1] && one[2]) {
      const stored = messages.get(one[2]);
      if (!stored || stored.channelId !== one[1]) {
        return respond(404, { message: 'Unknown Message', code: 10008 });
      }
      if (method === 'PATCH') {
        const patch = body as Partial<FakeDiscordMessage>;
        stored.content = String(patch.content ?? stored.content);
        if (patch.components) stored.components = patch.components;
        return respond(
          200,
          messagePayload({ id: one[2], channelId: one[1], author: botUser, content: stored.content }),
        );
      }
      if (method === 'DELETE') {
        messages.delete(one[2]);
        return { status: 204 };
      }
    }
    return respond(404, { message: '404: Not Found', code: 0 });
  }

  function onGateway(ws: WebSocket): void {
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null }));
    ws.on('message', (data) => {
      const packet = JSON.parse(String(data)) as { op: number; d: unknown };
      if (packet.op === 1) ws.send(JSON.stringify({ op: 11, d: null, s: null, t: null }));
      if (packet.op === 2) {
        const identify = packet.d as { token: string; intents: number };
        dispatch(ws, 'READY', {
          v: 10,
          user: userPayload(botUser),
          guilds: guilds.map((g) => ({ id: g.id, unavailable: true })),
          session_id: 'fake-session',
          resume_gateway_url: `ws://127.0.0.1:${port}/gateway`,
          shard: [0, 1],
          application: { id: botUser.id, flags: 0 },
        });
        for (const guild of guilds) dispatch(ws, 'GUILD_CREATE', guildPayload(guild));
        resolveIdentified(identify);
      }
    });
  }

  function dispatch(ws: WebSocket, t: string, d: unknown): void {
    sequence += 1;
    ws.send(JSON.stringify({ op: 0, t, s: sequence, d }));
  }

  return {
    restApi: `http://127.0.0.1:${port}/api`,
    botUser,
    calls,
    messages,
    identified,
    failNext(method, path, failure) {
      failures.push({ method, path, failure });
    },
    pushMessage(push) {
      const id = nextSnowflake();
      const payload = {
        ...messagePayload({ id, channelId: push.channelId, author: push.author, content: push.content }),
        mentions: (push.mentions ?? []).map(userPayload),
        ...(push.guildId ? { guild_id: push.guildId } : { channel_type: 1 }),
        ...(push.replyTo
          ? {
              type: 19,
              message_reference: {
                message_id: push.replyTo.id,
                channel_id: push.channelId,
                guild_id: push.guildId,
              },
              referenced_message: messagePayload({
                id: push.replyTo.id,
                channelId: push.channelId,
                author: push.replyTo.author,
                content: '',
              }),
            }
          : {}),
      };
      for (const ws of sockets) dispatch(ws, 'MESSAGE_CREATE', payload);
      return id;
    },
    pressButton(press) {
      const id = nextSnowflake();
      const stored = messages.get(press.messageId);
      const payload = {
        id,
        application_id: botUser.id,
        type: 3,
        token: `token-${id}`,
        version: 1,
        channel: { id: press.channelId, type: 1, recipients: [userPayload(press.user)] },
        channel_id: press.channelId,
        user: userPayload(press.user),
        data: { custom_id: press.customId, component_type: 2 },
        message: messagePayload({
          id: press.messageId,
          channelId: press.channelId,
          author: botUser,
          content: stored?.content ?? '',
        }),
        locale: 'en-US',
        app_permissions: '0',
        entitlements: [],
        authorizing_integration_owners: {},
        context: 1,
        attachment_size_limit: 8_388_608,
      };
      for (const ws of sockets) dispatch(ws, 'INTERACTION_CREATE', payload);
      return id;
    },
    close: () => server.close(),
  };
}

interface FakeResponse {
  status: number;
  body?: unknown;
}

function respond(status: number, body: unknown): FakeResponse {
  return { status, body };
}

function reply(
  res: ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): void {
  if (body === undefined) {
    // Like Discord: a 204 has no body and no JSON content type (discord.js would try to parse it).
    res.writeHead(status, headers);
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function userPayload(user: FakeDiscordUser): Record<string, unknown> {
  return {
    id: user.id,
    username: user.username,
    discriminator: '0',
    global_name: null,
    avatar: null,
    ...(user.bot ? { bot: true } : {}),
  };
}

function messagePayload(m: { id: string; channelId: string; author: FakeDiscordUser; content: string }) {
  return {
    id: m.id,
    channel_id: m.channelId,
    author: userPayload(m.author),
    content: m.content,
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [] as unknown[],
    mention_roles: [],
    attachments: [],
    embeds: [],
    pinned: false,
    type: 0,
  };
}

function guildPayload(guild: FakeGuild): Record<string, unknown> {
  return {
    id: guild.id,
    name: `guild-${guild.id}`,
    unavailable: false,
    owner_id: '1',
    member_count: 2,
    features: [],
    roles: [],
    emojis: [],
    stickers: [],
    members: [],
    presences: [],
    voice_states: [],
    channels: guild.channelIds.map((id) => ({
      id,
      type: 0,
      name: `channel-${id}`,
      guild_id: guild.id,
      position: 0,
    })),
    threads: (guild.threads ?? []).map((t) => ({
      id: t.id,
      type: 11,
      name: `thread-${t.id}`,
      guild_id: guild.id,
      parent_id: t.parentId,
      thread_metadata: {
        archived: false,
        auto_archive_duration: 1440,
        archive_timestamp: new Date().toISOString(),
        locked: false,
      },
    })),
  };
}
