/**
 * A loopback fake of a Mattermost server for driving the real `@mattermost/client` (Client4 +
 * WebSocketClient): REST `GET /api/v4/users/me`, `POST /api/v4/posts`, `PUT /api/v4/posts/{id}/patch`,
 * `DELETE /api/v4/posts/{id}` and `POST /api/v4/channels/direct`, and a `ws` websocket at `/api/v4/websocket` that speaks the
 * Mattermost protocol — `authentication_challenge` answered by `seq_reply`, then `hello`, then
 * sequenced `posted` events with the post as a JSON string (the bot's own posts echoed too, as the
 * real server does). Every REST call and websocket action is recorded; failures are injected per
 * call kind. It does not model teams, permissions or the rate limiter beyond injected 429s.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import { startLoopbackServer } from './loopback-server.ts';

export interface RecordedMattermostCall {
  /** `me`, `create`, `patch`, `delete`, `direct`, or `other`. */
  kind: string;
  method: string;
  path: string;
  token: string | undefined;
  body: Record<string, unknown>;
  at: number;
}

export interface RecordedSocketAction {
  action: string;
  data: Record<string, unknown>;
}

export interface FakeMattermostPost {
  id: string;
  channel_id: string;
  user_id: string;
  root_id: string;
  message: string;
  deleted: boolean;
  edits: number;
}

export interface InjectedMattermostFailure {
  status: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string as text/plain (the rate limiter's "limit exceeded"). */
  body: Record<string, unknown> | string;
}

export interface IncomingPost {
  channelId: string;
  userId: string;
  message: string;
  rootId?: string;
  /** `D` direct, `G` group, `O` public, `P` private. */
  channelType: string;
  /** User ids the server resolved as mentioned (sent as a JSON string). */
  mentions?: string[];
  senderName?: string;
}

export interface FakeMattermostApi {
  readonly url: string;
  readonly token: string;
  readonly botUserId: string;
  readonly botUsername: string;
  readonly calls: RecordedMattermostCall[];
  readonly socketActions: RecordedSocketAction[];
  readonly posts: Map<string, FakeMattermostPost>;
  /** A person posts; the `posted` event goes to every authenticated websocket. Returns the post id. */
  post(incoming: IncomingPost): string;
  /** The bot's visible posts in a channel (not deleted), oldest first. */
  botPosts(channelId: string): FakeMattermostPost[];
  failNext(kind: string, failure: InjectedMattermostFailure): void;
  /** Drops every websocket, as a server restart does (the next connection gets a new session). */
  dropConnections(): void;
  /** Resolves once a websocket has authenticated (a client is connected and ready). */
  connected(): Promise<void>;
  close(): Promise<void>;
}

const token = 'mm-bot-token';
const botUserId = 'heraldbotuserid0000000000a';
const botUsername = 'herald';

export async function startFakeMattermostApi(): Promise<FakeMattermostApi> {
  const calls: RecordedMattermostCall[] = [];
  const socketActions: RecordedSocketAction[] = [];
  const posts = new Map<string, FakeMattermostPost>();
  const failures: { kind: string; failure: InjectedMattermostFailure }[] = [];
  const authenticated = new Map<WebSocket, { seq: number }>();
  const connectedWaiters: (() => void)[] = [];
  let counter = 0;
  const newId = () => `post${String(++counter).padStart(22, '0')}`;

  function broadcastPosted(post: FakeMattermostPost, incoming?: IncomingPost): void {
    const { deleted: _deleted, edits: _edits, ...wire } = post;
    const data: Record<string, unknown> = {
      channel_type: incoming?.channelType ?? 'O',
      channel_display_name: 'Channel',
      channel_name: 'channel',
      sender_name: incoming?.senderName ?? (post.user_id === botUserId ? `@${botUsername}` : '@someone'),
      team_id: 'team1',
      post: JSON.stringify({ ...wire, type: '', props: {}, create_at: Date.now() }),
    };
    if (incoming?.mentions) data.mentions = JSON.stringify(incoming.mentions);
    for (const [ws, state] of authenticated) {
      ws.send(
        JSON.stringify({
          event: 'posted',
          data,
          broadcast: { channel_id: post.channel_id, user_id: '', team_id: '', omit_users: null },
          seq: state.seq++,
        }),
      );
    }
  }

  function reply(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (typeof body === 'string') {
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(body);
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  function handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const method = req.method ?? 'GET';
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    const kind = callKind(method, path);
    const auth = req.headers.authorization?.replace(/^Bearer /i, '');
    calls.push({ kind, method, path, token: auth, body, at: Date.now() });
    const failure = failures.findIndex((f) => f.kind === kind);
    if (failure !== -1) {
      const injected = failures.splice(failure, 1)[0]!.failure;
      reply(res, injected.status, injected.body, injected.headers);
      return;
    }
    if (auth !== token) {
      reply(res, 401, {
        id: 'api.context.session_expired.app_error',
        message: 'Invalid or expired session, please login again.',
        status_code: 401,
      });
      return;
    }
    const postId = /^\/api\/v4\/posts\/([^/]+)/.exec(path)?.[1];
    switch (kind) {
      case 'me':
        reply(res, 200, { id: botUserId, username: botUsername, is_bot: true });
        return;
      case 'create': {
        const post: FakeMattermostPost = {
          id: newId(),
          channel_id: String(body.channel_id),
          user_id: botUserId,
          root_id: String(body.root_id ?? ''),
          message: String(body.message),
          deleted: false,
          edits: 0,
        };
        posts.set(post.id, post);
        reply(res, 201, { ...post, create_at: Date.now() });
        broadcastPosted(post);
        return;
      }
      case 'direct': {
        // The server's direct channel of two users; its id is derived from theirs, as Mattermost's name is.
        const ids = (JSON.parse(raw) as string[]).toSorted();
        reply(res, 201, { id: `direct_${ids.join('__')}`, type: 'D' });
        return;
      }
      case 'patch':
      case 'delete': {
        const post = postId ? posts.get(postId) : undefined;
        if (!post || post.deleted) {
          reply(res, 404, {
            id: 'app.post.get.app_error',
            message: 'Unable to get the post.',
            status_code: 404,
          });
          return;
        }
        if (kind === 'patch') {
          post.message = String(body.message);
          post.edits++;
          reply(res, 200, post);
        } else {
          post.deleted = true;
          reply(res, 200, { status: 'OK' });
        }
        return;
      }
      default:
        reply(res, 404, {
          id: 'api.context.404.app_error',
          message: 'Sorry, we could not find the page.',
          status_code: 404,
        });
    }
  }

  function onSocket(ws: WebSocket): void {
    ws.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as {
        action: string;
        seq: number;
        data?: Record<string, unknown>;
      };
      socketActions.push({ action: message.action, data: message.data ?? {} });
      if (message.action === 'authentication_challenge') {
        if (message.data?.token !== token) {
          ws.send(
            JSON.stringify({ status: 'FAIL', seq_reply: message.seq, error: { message: 'invalid token' } }),
          );
          ws.close();
          return;
        }
        ws.send(JSON.stringify({ status: 'OK', seq_reply: message.seq }));
        const state = { seq: 0 };
        authenticated.set(ws, state);
        ws.send(
          JSON.stringify({
            event: 'hello',
            data: { connection_id: randomUUID(), server_version: '10.11.0', server_hostname: 'fake' },
            broadcast: { user_id: botUserId },
            seq: state.seq++,
          }),
        );
        for (const waiter of connectedWaiters.splice(0)) waiter();
        return;
      }
      ws.send(
        JSON.stringify({
          status: 'OK',
          seq_reply: message.seq,
          data: message.action === 'ping' ? { text: 'pong' } : {},
        }),
      );
    });
    ws.on('close', () => authenticated.delete(ws));
  }

  const server = await startLoopbackServer({
    onRequest: handle,
    acceptsSocket: (url) => url.startsWith('/api/v4/websocket'),
    onSocket,
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    token,
    botUserId,
    botUsername,
    calls,
    socketActions,
    posts,
    post(incoming) {
      const post: FakeMattermostPost = {
        id: newId(),
        channel_id: incoming.channelId,
        user_id: incoming.userId,
        root_id: incoming.rootId ?? '',
        message: incoming.message,
        deleted: false,
        edits: 0,
      };
      posts.set(post.id, post);
      broadcastPosted(post, incoming);
      return post.id;
    },
    botPosts(channelId) {
      return [...posts.values()].filter(
        (p) => p.channel_id === channelId && p.user_id === botUserId && !p.deleted,
      );
    },
    failNext(kind, failure) {
      failures.push({ kind, failure });
    },
    dropConnections() {
      for (const ws of authenticated.keys()) ws.terminate();
      authenticated.clear();
    },
    connected() {
      if (authenticated.size > 0) return Promise.resolve();
      return new Promise((resolve) => connectedWaiters.push(resolve));
    },
    close: () => server.close(),
  };
}

function callKind(method: string, path: string): string {
  if (path === '/api/v4/users/me') return 'me';
  if (path === '/api/v4/posts' && method === 'POST') return 'create';
  if (/^\/api\/v4\/posts\/[^/]+\/patch$/.test(path) && method === 'PUT') return 'patch';
  if (/^\/api\/v4\/posts\/[^/]+$/.test(path) && method === 'DELETE') return 'delete';
  if (path === '/api/v4/channels/direct' && method === 'POST') return 'direct';
  return 'other';
}
