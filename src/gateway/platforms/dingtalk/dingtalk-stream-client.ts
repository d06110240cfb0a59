/**
 * The official Stream-mode client (`dingtalk-stream`'s DWClient) with two changes Herald needs: the
 * gateway endpoint is fetched from a configurable API root (the SDK hard-codes
 * https://api.dingtalk.com/v1.0/gateway/connections/open, so `getEndpoint` — a public method of the
 * SDK — is overridden to ask `<api_root>/v1.0/gateway/connections/open` with the same request), and a
 * stopped client never reconnects (the SDK's retry timer would otherwise revive it after
 * `disconnect()`). Everything else — the WebSocket protocol, pings, acks — is the SDK's.
 */
import { DWClient } from 'dingtalk-stream';

export class DingTalkStreamClient extends DWClient {
  readonly #gatewayUrl: string;
  #stopped = false;
  /** Why the last connection attempt failed (the SDK swallows it). */
  lastError: unknown;

  constructor(options: { clientId: string; clientSecret: string; apiRoot: string }) {
    super({ clientId: options.clientId, clientSecret: options.clientSecret, ua: 'herald' });
    this.#gatewayUrl = new URL('/v1.0/gateway/connections/open', options.apiRoot).href;
    // The first connection's failure must reach start(); automatic reconnects start after it.
    this.config.autoReconnect = false;
  }

  override async getEndpoint(): Promise<this> {
    try {
      const response = await fetch(this.#gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({
          clientId: this.config.clientId,
          clientSecret: this.config.clientSecret,
          ua: this.config.ua,
          subscriptions: this.config.subscriptions,
        }),
      });
      const body = (await response.json().catch(() => ({}))) as {
        endpoint?: string;
        ticket?: string;
        message?: string;
      };
      if (!response.ok || !body.endpoint || !body.ticket) {
        throw new Error(`DingTalk gateway refused the connection: ${body.message ?? response.status}`);
      }
      // The SDK's private field read by its own _connect().
      Reflect.set(this, 'dw_url', `${body.endpoint}?ticket=${encodeURIComponent(body.ticket)}`);
      return this;
    } catch (error) {
      this.lastError = error;
      throw error;
    }
  }

  override async connect(): Promise<void> {
    if (this.#stopped) return;
    this.lastError = undefined;
    await super.connect();
  }

  /** Closes the connection for good. */
  stop(): void {
    this.#stopped = true;
    this.config.autoReconnect = false;
    this.disconnect();
  }
}
