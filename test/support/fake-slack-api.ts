/**
 * A loopback fake of Slack for driving a real Bolt app in Socket Mode: Web API methods under `/api/`
 * (auth.test, apps.connections.open, chat.postMessage/update/delete, chat.startStream/appendStream/
 * stopStream) that record every call with its params and token, and a `ws` WebSocket server that
 * speaks Socket Mode — `hello` on connect, `events_api` and `interactive` (button press) envelopes
 * pushed by the test, acks recorded.
 * Failures are injected per method (`failNext`). It does not model scopes, rate tiers or retries.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import { startLoopbackServer } from './loopback-server.ts';

export interface RecordedSlackCall {
  method: string;
  params: Record<string, unknown>;
  /** Bearer token the call was made with. */
  token: string | undefined;
}

export interface SlackAck {
  envelope_id: string;
  payload: unknown;
}

export interface InjectedSlackFailure {
  /** HTTP status; 429 with a `retry-after` header is Slack's rate limit. Default 200. */
  status?: number;
  headers?: Record<string, string>;
  /** Default `{ ok: false, error: 'fatal_error' }`. */
  body?: Record<string, unknown>;
}

export interface FakeSlackMessage {
  channel: string;
  text: string;
  thread_ts?: string;
  /** A message being streamed (chat.startStream … chat.stopStream). */
  streaming?: boolean;
  /** Block Kit blocks as last sent (postMessage, or update when it carries blocks). */
  blocks?: Record<string, unknown>[];
}

export interface FakeSlackApi {
  /** Pass as `slackApiUrl`: `http://127.0.0.1:PORT/api/`. */
  readonly slackApiUrl: string;
  readonly botUserId: string;
  readonly teamId: string;
  readonly calls: RecordedSlackCall[];
  readonly acks: SlackAck[];
  /** Every message the bot has in the fake, by ts; a streamed message's text is the concatenated markdown. */
  readonly messages: Map<string, FakeSlackMessage>;
  /** Answers the next call of `method` with the failure. */
  failNext(method: string, failure?: InjectedSlackFailure): void;
  /** Sends an `events_api` envelope carrying `event`; resolves with the client's ack. */
  pushEvent(event: Record<string, unknown>): Promise<SlackAck>;
  /** A user presses a Block Kit button of message `ts`: an `interactive` envelope; resolves with the ack. */
  pressButton(press: {
    user: string;
    channel: string;
    ts: string;
    actionId: string;
    value: string;
  }): Promise<SlackAck>;
  /** Ephemeral messages (chat.postEphemeral), in order. */
  readonly ephemeral: { channel: string; user: string; text: string }[];
  close(): Promise<void>;
}

export async function startFakeSlackApi(): Promise<FakeSlackApi> {
  const botUserId = 'UHERALD01';
  const teamId = 'TFAKE0001';
  const calls: RecordedSlackCall[] = [];
  const acks: SlackAck[] = [];
  const messages = new Map<string, FakeSlackMessage>();
  const failures: { method: string; failure: InjectedSlackFailure }[] = [];
  const ackWaiters = new Map<string, (ack: SlackAck) => void>();
  const ephemeral: { channel: string; user: string; text: string }[] = [];
  let tsCounter = 0;
  const nextTs = () => `1764000000.${String(++tsCounter).padStart(6, '0')}`;

  const server = await startLoopbackServer({
    onRequest: handleApi,
    acceptsSocket: (url) => url === '/socket',
    onSocket,
  });
  const { port, sockets } = server;

  function handleApi(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const params: Record<string, unknown> = req.headers['content-type']?.includes('application/json')
      ? (JSON.parse(raw || '{}') as Record<string, unknown>)
      : Object.fromEntries(new URLSearchParams(raw));
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
    const token = req.headers.authorization?.replace(/^Bearer /, '');
    calls.push({ method, params, token });

    const injected = failures.find((f) => f.method === method);
    if (injected) {
      failures.splice(failures.indexOf(injected), 1);
      const { status = 200, headers = {}, body = { ok: false, error: 'fatal_error' } } = injected.failure;
      json(res, body, status, headers);
      return;
    }
    json(res, answer(method, params));
  }

  function answer(method: string, p: Record<string, unknown>): Record<string, unknown> {
    const channel = String(p.channel ?? '');
    const ts = String(p.ts ?? '');
    const own = messages.get(ts);
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: 'https://fake.slack.com/',
          team: 'Fake',
          user: 'herald',
          team_id: teamId,
          user_id: botUserId,
          bot_id: 'BHERALD01',
          is_enterprise_install: false,
        };
      case 'apps.connections.open':
        return { ok: true, url: `ws://127.0.0.1:${port}/socket` };
      case 'chat.postMessage': {
        const newTs = nextTs();
        const thread = p.thread_ts === undefined ? {} : { thread_ts: String(p.thread_ts) };
        const blocks = parseBlocks(p.blocks);
        messages.set(newTs, {
          channel,
          text: String(p.text ?? ''),
          ...thread,
          ...(blocks ? { blocks } : {}),
        });
        return {
          ok: true,
          channel,
          ts: newTs,
          message: { type: 'message', text: p.text, user: botUserId, ts: newTs },
        };
      }
      case 'chat.update':
        if (!own || own.channel !== channel) return { ok: false, error: 'message_not_found' };
        if (own.streaming) return { ok: false, error: 'cant_update_message' };
        own.text = String(p.text ?? '');
        // As Slack does: an update without blocks keeps the old ones.
        own.blocks = parseBlocks(p.blocks) ?? own.blocks;
        return { ok: true, channel, ts, text: own.text };
      case 'chat.postEphemeral':
        ephemeral.push({ channel, user: String(p.user ?? ''), text: String(p.text ?? '') });
        return { ok: true, message_ts: nextTs() };
      case 'chat.delete':
        if (!own || own.channel !== channel) return { ok: false, error: 'message_not_found' };
        messages.delete(ts);
        return { ok: true, channel, ts };
      case 'chat.startStream': {
        if (p.thread_ts === undefined) return { ok: false, error: 'invalid_arguments' };
        const newTs = nextTs();
        messages.set(newTs, {
          channel,
          text: String(p.markdown_text ?? ''),
          thread_ts: String(p.thread_ts),
          streaming: true,
        });
        return { ok: true, channel, ts: newTs };
      }
      case 'chat.appendStream':
      case 'chat.stopStream': {
        if (!own || own.channel !== channel) return { ok: false, error: 'message_not_found' };
        if (!own.streaming) return { ok: false, error: 'message_not_in_streaming_state' };
        own.text += String(p.markdown_text ?? '');
        if (method === 'chat.stopStream') own.streaming = false;
        return { ok: true, channel, ts };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  function onSocket(ws: WebSocket): void {
    ws.on('message', (data) => {
      const ack = JSON.parse(String(data)) as SlackAck;
      acks.push(ack);
      ackWaiters.get(ack.envelope_id)?.(ack);
      ackWaiters.delete(ack.envelope_id);
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: 1,
        connection_info: { app_id: 'AHERALD01' },
        debug_info: { host: 'fake', approximate_connection_time: 3600 },
      }),
    );
  }

  return {
    slackApiUrl: `http://127.0.0.1:${port}/api/`,
    botUserId,
    teamId,
    calls,
    acks,
    messages,
    failNext(method, failure = {}) {
      failures.push({ method, failure });
    },
    pushEvent(event) {
      const envelopeId = randomUUID();
      const acked = new Promise<SlackAck>((resolve) => ackWaiters.set(envelopeId, resolve));
      const envelope = {
        envelope_id: envelopeId,
        type: 'events_api',
        accepts_response_payload: false,
        retry_attempt: 0,
        retry_reason: '',
        payload: {
          token: 'verification-token',
          team_id: teamId,
          api_app_id: 'AHERALD01',
          event: { event_ts: event.ts, ...event },
          type: 'event_callback',
          event_id: `Ev${envelopeId.slice(0, 8)}`,
          event_time: Math.floor(Date.now() / 1000),
          authorizations: [
            {
              enterprise_id: null,
              team_id: teamId,
              user_id: botUserId,
              is_bot: true,
              is_enterprise_install: false,
            },
          ],
          is_ext_shared_channel: false,
        },
      };
      for (const ws of sockets) ws.send(JSON.stringify(envelope));
      return acked;
    },
    ephemeral,
    pressButton(press) {
      const envelopeId = randomUUID();
      const acked = new Promise<SlackAck>((resolve) => ackWaiters.set(envelopeId, resolve));
      const message = messages.get(press.ts);
      const envelope = {
        envelope_id: envelopeId,
        type: 'interactive',
        accepts_response_payload: false,
        payload: {
          type: 'block_actions',
          team: { id: teamId, domain: 'fake' },
          user: { id: press.user, username: press.user, team_id: teamId },
          api_app_id: 'AHERALD01',
          token: 'verification-token',
          container: {
            type: 'message',
            message_ts: press.ts,
            channel_id: press.channel,
            is_ephemeral: false,
          },
          trigger_id: 'trigger',
          channel: { id: press.channel, name: 'dm' },
          message: {
            type: 'message',
            ts: press.ts,
            text: message?.text ?? '',
            ...(message?.thread_ts ? { thread_ts: message.thread_ts } : {}),
          },
          response_url: 'https://hooks.slack.invalid/actions/x',
          actions: [
            {
              type: 'button',
              action_id: press.actionId,
              block_id: 'b',
              value: press.value,
              text: { type: 'plain_text', text: press.actionId },
              action_ts: String(Date.now() / 1000),
            },
          ],
        },
      };
      for (const ws of sockets) ws.send(JSON.stringify(envelope));
      return acked;
    },
    close: () => server.close(),
  };
}

/** Blocks arrive as JSON (a JSON body) or as a JSON string (a form body). */
function parseBlocks(raw: unknown): Record<string, unknown>[] | undefined {
  if (raw === undefined) return undefined;
  return (typeof raw === 'string' ? JSON.parse(raw) : raw) as Record<string, unknown>[];
}

function json(res: ServerResponse, body: unknown, status = 200, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}
