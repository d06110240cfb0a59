/**
 * Live checks of chat platform tokens for `herald setup` and `herald doctor`, each through the
 * platform's own "who am I" call: Telegram getMe, Discord GET /users/@me, Slack auth.test, Matrix
 * account/whoami, Mattermost users/me. Each takes
 * the API root the platform adapter would use (so tests point it at the local fakes). A check tells a
 * rejected token (the fix: a new token) from an unreachable API (the token may be fine); it never
 * throws and never logs the token.
 */

export type TokenCheck =
  | { status: 'valid'; identity: string }
  | { status: 'rejected'; reason: string }
  | { status: 'unreachable'; reason: string };

export interface TokenCheckOptions {
  /** API root; default the platform's public one. */
  apiRoot?: string;
  timeoutMs?: number;
}

/** Telegram Bot API `getMe`; apiRoot as in `platforms.telegram.api_root` (default https://api.telegram.org). */
export async function checkTelegramToken(
  token: string,
  options: TokenCheckOptions = {},
): Promise<TokenCheck> {
  const root = trimSlash(options.apiRoot ?? 'https://api.telegram.org');
  return check(`${root}/bot${token}/getMe`, {}, options, async (response) => {
    const body = (await response.json().catch(() => ({}))) as {
      ok?: boolean;
      result?: { username?: string };
      error_code?: number;
      description?: string;
    };
    if (body.ok && body.result) return { status: 'valid', identity: `@${body.result.username ?? '?'}` };
    return rejectedOr(body.error_code ?? response.status, body.description);
  });
}

/** Discord REST `GET /users/@me`; apiRoot as discord.js's REST `api` option (default https://discord.com/api). */
export async function checkDiscordToken(token: string, options: TokenCheckOptions = {}): Promise<TokenCheck> {
  const root = trimSlash(options.apiRoot ?? 'https://discord.com/api');
  const headers = { authorization: `Bot ${token}` };
  return check(`${root}/v10/users/@me`, { headers }, options, async (response) => {
    const body = (await response.json().catch(() => ({}))) as { username?: string; message?: string };
    if (response.ok && body.username) return { status: 'valid', identity: body.username };
    return rejectedOr(response.status, body.message);
  });
}

/** Slack Web API `auth.test` with a bot token; apiRoot as Bolt's `slackApiUrl` (default https://slack.com/api/). */
export async function checkSlackToken(token: string, options: TokenCheckOptions = {}): Promise<TokenCheck> {
  const root = trimSlash(options.apiRoot ?? 'https://slack.com/api');
  const init = { method: 'POST', headers: { authorization: `Bearer ${token}` } };
  return check(`${root}/auth.test`, init, options, async (response) => {
    const body = (await response.json().catch(() => ({}))) as {
      ok?: boolean;
      user?: string;
      team?: string;
      error?: string;
    };
    if (body.ok) return { status: 'valid', identity: `${body.user ?? '?'} in ${body.team ?? '?'}` };
    return { status: 'rejected', reason: body.error ?? `HTTP ${response.status}` };
  });
}

/** Matrix `GET /_matrix/client/v3/account/whoami`; apiRoot is the homeserver URL (no default). */
export async function checkMatrixToken(token: string, options: TokenCheckOptions): Promise<TokenCheck> {
  const root = trimSlash(options.apiRoot ?? '');
  const headers = { authorization: `Bearer ${token}` };
  return check(`${root}/_matrix/client/v3/account/whoami`, { headers }, options, async (response) => {
    const body = (await response.json().catch(() => ({}))) as { user_id?: string; error?: string };
    if (response.ok && body.user_id) return { status: 'valid', identity: body.user_id };
    return rejectedOr(response.status, body.error);
  });
}

/** Mattermost `GET /api/v4/users/me`; apiRoot is the server URL (no default). */
export async function checkMattermostToken(token: string, options: TokenCheckOptions): Promise<TokenCheck> {
  const root = trimSlash(options.apiRoot ?? '');
  const headers = { authorization: `Bearer ${token}` };
  return check(`${root}/api/v4/users/me`, { headers }, options, async (response) => {
    const body = (await response.json().catch(() => ({}))) as { username?: string; message?: string };
    if (response.ok && body.username) return { status: 'valid', identity: `@${body.username}` };
    return rejectedOr(response.status, body.message);
  });
}

async function check(
  url: string,
  init: RequestInit,
  options: TokenCheckOptions,
  read: (response: Response) => Promise<TokenCheck>,
): Promise<TokenCheck> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(options.timeoutMs ?? 5000) });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const code = (cause as { code?: string }).code;
    // The URL holds Telegram's token: name the host only.
    const host = new URL(url).host;
    return {
      status: 'unreachable',
      reason: `${host}: ${code ?? (cause instanceof Error ? cause.message : String(cause))}`,
    };
  }
  return read(response);
}

/** 401/403/404 mean the platform does not know the token; anything else is the platform's trouble. */
function rejectedOr(status: number, message: string | undefined): TokenCheck {
  const reason = message ? `${message} (HTTP ${status})` : `HTTP ${status}`;
  return [401, 403, 404].includes(status)
    ? { status: 'rejected', reason }
    : { status: 'unreachable', reason };
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export type TokenPlatform = 'telegram' | 'discord' | 'slack';

/** API roots per platform; unset = the platform's public API. */
export type PlatformApiRoots = Partial<Record<TokenPlatform, string>>;

const checks = { telegram: checkTelegramToken, discord: checkDiscordToken, slack: checkSlackToken };

/** Checks a platform's (bot) token against its API root in `roots`. */
export function checkPlatformToken(
  platform: TokenPlatform,
  token: string,
  roots: PlatformApiRoots,
  timeoutMs?: number,
): Promise<TokenCheck> {
  return checks[platform](token, { apiRoot: roots[platform], timeoutMs });
}
