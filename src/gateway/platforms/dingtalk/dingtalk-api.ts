/**
 * The few DingTalk OpenAPI calls Herald makes besides the Stream connection: the app access token
 * (cached until shortly before it expires), replies through a message's `sessionWebhook`, and AI card
 * create-and-deliver plus streaming updates. Every URL is built from `api_root`, so a proxy or a
 * test's fake can stand in for api.dingtalk.com. Errors are thrown with DingTalk's own message.
 */

export interface DingTalkApiOptions {
  apiRoot: string;
  clientId: string;
  clientSecret: string;
}

export class DingTalkApiError extends Error {
  readonly code = 'dingtalk_api_error';
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = 'DingTalkApiError';
    this.status = status;
  }
}

/** Where a card goes: a group, or the robot's 1:1 chat with a user. */
export interface CardSpace {
  conversationId: string;
  isPrivate: boolean;
  userId: string;
}

export class DingTalkApi {
  readonly #options: DingTalkApiOptions;
  #token: { value: string; expiresAt: number } | undefined;

  constructor(options: DingTalkApiOptions) {
    this.#options = options;
  }

  /** The app's access token; fetched again 5 minutes before it expires. */
  async accessToken(): Promise<string> {
    if (this.#token && this.#token.expiresAt > Date.now()) return this.#token.value;
    const body = await this.#call('POST', '/v1.0/oauth2/accessToken', {
      appKey: this.#options.clientId,
      appSecret: this.#options.clientSecret,
    });
    const value = String(body['accessToken'] ?? '');
    if (!value) throw new DingTalkApiError('no accessToken in the response', 200);
    const expireIn = Number(body['expireIn'] ?? 7200);
    this.#token = { value, expiresAt: Date.now() + (expireIn - 300) * 1000 };
    return value;
  }

  /** Posts a Markdown message to a conversation through a message's session webhook. */
  async replyMarkdown(sessionWebhook: string, title: string, text: string): Promise<void> {
    const response = await fetch(sessionWebhook, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ msgtype: 'markdown', markdown: { title, text } }),
    });
    const body = (await response.json().catch(() => ({}))) as { errcode?: number; errmsg?: string };
    if (!response.ok || (body.errcode !== undefined && body.errcode !== 0)) {
      throw new DingTalkApiError(`sessionWebhook: ${body.errmsg ?? response.statusText}`, response.status);
    }
  }

  /** Creates an AI card from `templateId` and delivers it to `space`. */
  async createCard(
    templateId: string,
    outTrackId: string,
    contentKey: string,
    space: CardSpace,
  ): Promise<void> {
    const robotCode = this.#options.clientId;
    await this.#call(
      'POST',
      '/v1.0/card/instances/createAndDeliver',
      {
        cardTemplateId: templateId,
        outTrackId,
        callbackType: 'STREAM',
        cardData: { cardParamMap: { [contentKey]: '' } },
        userIdType: 1,
        ...(space.isPrivate
          ? {
              openSpaceId: `dtv1.card//IM_ROBOT.${space.userId}`,
              userId: space.userId,
              imRobotOpenSpaceModel: { supportForward: true },
              imRobotOpenDeliverModel: { spaceType: 'IM_ROBOT', robotCode },
            }
          : {
              openSpaceId: `dtv1.card//IM_GROUP.${space.conversationId}`,
              imGroupOpenSpaceModel: { supportForward: true },
              imGroupOpenDeliverModel: { robotCode },
            }),
      },
      await this.accessToken(),
    );
  }

  /** Replaces the card's streaming variable with `content`; `finalize` ends the stream. */
  async streamCard(
    outTrackId: string,
    contentKey: string,
    content: string,
    finalize: boolean,
  ): Promise<void> {
    await this.#call(
      'PUT',
      '/v1.0/card/streaming',
      {
        outTrackId,
        guid: crypto.randomUUID(),
        key: contentKey,
        content,
        isFull: true,
        isFinalize: finalize,
        isError: false,
      },
      await this.accessToken(),
    );
  }

  async #call(method: string, path: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
    const response = await fetch(new URL(path, this.#options.apiRoot), {
      method,
      headers: {
        'content-type': 'application/json',
        ...(token ? { 'x-acs-dingtalk-access-token': token } : {}),
      },
      body: JSON.stringify(body),
    });
    const parsed = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      throw new DingTalkApiError(
        `${path}: ${String(parsed['message'] ?? response.statusText)}`,
        response.status,
      );
    }
    return parsed;
  }
}
