/**
 * A fake of DingTalk for the real `dingtalk-stream` SDK: the Stream gateway's
 * `POST /v1.0/gateway/connections/open` (answers a ws:// endpoint and ticket on this server), the
 * WebSocket that pushes robot callbacks and records the client's acks, the OpenAPI token and AI card
 * endpoints, and session webhooks that record every reply. It checks credentials and the ticket; it
 * does not model rate limits.
 */
import type { WebSocket } from 'ws';
import { Inbox } from './inbox.ts';
import { type LoopbackServer, startLoopbackServer } from './loopback-server.ts';

export interface RecordedCall {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary request JSON
  body: any;
}

export interface RobotMessageInput {
  text: string;
  userId?: string;
  conversationId?: string;
  isPrivate?: boolean;
  isInAtList?: boolean;
  msgId?: string;
}

export class FakeDingTalkApi {
  readonly clientId = 'ding-test-app';
  readonly clientSecret = 'ding-test-secret';
  readonly calls: RecordedCall[] = [];
  /** Every session-webhook reply, in order. */
  readonly replies = new Inbox<RecordedCall>();
  readonly acks: string[] = [];
  readonly #ticket = 'ticket-1';
  #server!: LoopbackServer;
  #socket: WebSocket | undefined;
  #connected = new Inbox<WebSocket>();
  #msgCounter = 0;

  get apiRoot(): string {
    return `http://127.0.0.1:${this.#server.port}`;
  }

  static async start(): Promise<FakeDingTalkApi> {
    const fake = new FakeDingTalkApi();
    fake.#server = await startLoopbackServer({
      onRequest: (req, res, raw) => {
        const url = new URL(req.url ?? '/', 'http://x');
        const call: RecordedCall = {
          method: req.method ?? '',
          path: url.pathname,
          headers: req.headers,
          body: raw ? JSON.parse(raw) : undefined,
        };
        fake.calls.push(call);
        const reply = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (call.path === '/v1.0/gateway/connections/open') {
          if (call.body?.clientId !== fake.clientId || call.body?.clientSecret !== fake.clientSecret)
            return reply(401, { code: 'InvalidAuthentication', message: 'bad credentials' });
          return reply(200, {
            endpoint: `ws://127.0.0.1:${fake.#server.port}/connect`,
            ticket: fake.#ticket,
          });
        }
        if (call.path === '/v1.0/oauth2/accessToken') {
          if (call.body?.appKey !== fake.clientId || call.body?.appSecret !== fake.clientSecret)
            return reply(400, { code: 'invalidClientIdOrSecret', message: '无效的clientId或者clientSecret' });
          return reply(200, { accessToken: 'token-1', expireIn: 7200 });
        }
        if (call.path.startsWith('/v1.0/card/')) {
          if (req.headers['x-acs-dingtalk-access-token'] !== 'token-1')
            return reply(401, { message: 'no token' });
          return reply(200, { success: true, result: {} });
        }
        if (call.path.startsWith('/session/')) {
          fake.replies.push(call);
          return reply(200, { errcode: 0, errmsg: 'ok' });
        }
        reply(404, { message: 'not found' });
      },
      acceptsSocket: (url) => url === `/connect?ticket=${fake.#ticket}`,
      onSocket: (ws) => {
        fake.#socket = ws;
        ws.on('message', (data) => {
          const frame = JSON.parse(String(data)) as { headers?: { messageId?: string } };
          if (frame.headers?.messageId) fake.acks.push(frame.headers.messageId);
        });
        fake.#connected.push(ws);
      },
    });
    return fake;
  }

  /** Resolves once the SDK has opened its WebSocket. */
  async connected(): Promise<void> {
    await this.#connected.next();
  }

  /** Pushes a robot text message to the client, as DingTalk's Stream gateway does; returns its msgId. */
  sendRobotMessage(input: RobotMessageInput): string {
    const msgId = input.msgId ?? `msg-${++this.#msgCounter}`;
    const isPrivate = input.isPrivate ?? true;
    const userId = input.userId ?? 'staff-1';
    const data = {
      msgId,
      msgtype: 'text',
      conversationId: input.conversationId ?? (isPrivate ? `cid-private-${userId}` : 'cid-group-1'),
      conversationType: isPrivate ? '1' : '2',
      senderStaffId: userId,
      senderId: `$:LWCP_v1:$${userId}`,
      senderNick: 'Ann',
      chatbotUserId: 'bot-1',
      robotCode: this.clientId,
      ...(input.isInAtList !== undefined ? { isInAtList: input.isInAtList } : {}),
      sessionWebhook: `${this.apiRoot}/session/${msgId}`,
      sessionWebhookExpiredTime: Date.now() + 3_600_000,
      createAt: Date.now(),
      text: { content: input.text },
    };
    this.#socket?.send(
      JSON.stringify({
        specVersion: '1.0',
        type: 'CALLBACK',
        headers: {
          topic: '/v1.0/im/bot/messages/get',
          messageId: `stream-${msgId}`,
          contentType: 'application/json',
          time: String(Date.now()),
          appId: 'app',
        },
        data: JSON.stringify(data),
      }),
    );
    return msgId;
  }

  cardCalls(): RecordedCall[] {
    return this.calls.filter((call) => call.path.startsWith('/v1.0/card/'));
  }

  close(): Promise<void> {
    return this.#server.close();
  }
}
