/**
 * What `herald setup` (wizard and flags alike) does for the doors configured by server details —
 * Matrix, Mattermost, email and DingTalk — once it has the answers: lays the new settings over the
 * current config and checks them live with the checks `herald doctor` runs (Matrix whoami, Mattermost
 * users/me, an IMAP login and SMTP verify, a DingTalk token fetch), and trades a Matrix password for an
 * access token so no password is stored. It asks nothing and saves nothing.
 */
import type { HeraldConfig } from '../config/index.ts';
import { checkDingTalkCredentials, checkImapLogin, checkSmtpLogin } from './mail-and-dingtalk-checks.ts';
import { checkMatrixToken, checkMattermostToken, type TokenCheck } from './platform-token-check.ts';
import type { DoorSetting } from './save-setup.ts';

export type ServerDoor = 'matrix' | 'mattermost' | 'email' | 'dingtalk';

export const serverDoorLabels: Record<ServerDoor, string> = {
  matrix: 'Matrix',
  mattermost: 'Mattermost',
  email: 'Email',
  dingtalk: 'DingTalk',
};

export function isServerDoor(name: string): name is ServerDoor {
  return Object.hasOwn(serverDoorLabels, name);
}

/** Dotted config keys (`platforms.email.imap.host`) and their new values. */
export type DoorSettings = Record<string, DoorSetting>;

/** One live check of a door: what was checked (`IMAP`, `token`…) and how it went. */
export interface DoorCheck {
  what: string;
  check: TokenCheck;
}

/** The door's section of `config` with `settings` applied. */
export function doorConfig<D extends ServerDoor>(
  config: HeraldConfig,
  door: D,
  settings: DoorSettings,
): HeraldConfig['platforms'][D] {
  const section = structuredClone(config.platforms[door]) as Record<string, unknown>;
  const prefix = `platforms.${door}.`;
  for (const [key, value] of Object.entries(settings)) {
    if (!key.startsWith(prefix)) continue;
    const path = key.slice(prefix.length).split('.');
    let node = section;
    for (const part of path.slice(0, -1)) {
      node[part] ??= {};
      node = node[part] as Record<string, unknown>;
    }
    node[path.at(-1)!] = value;
  }
  return section as HeraldConfig['platforms'][D];
}

/**
 * Checks what the door would run with: the same calls `herald doctor` makes. A Matrix password in
 * `settings` is first traded for an access token, which replaces it there (with the user id).
 */
export async function checkDoor(
  config: HeraldConfig,
  door: ServerDoor,
  settings: DoorSettings,
  timeoutMs = 5000,
): Promise<DoorCheck[]> {
  const password = settings['platforms.matrix.password'];
  if (door === 'matrix' && typeof password === 'string') {
    const matrix = doorConfig(config, 'matrix', settings);
    const login = await matrixPasswordLogin(
      matrix.homeserver ?? '',
      matrix.user_id ?? '',
      password,
      timeoutMs,
    );
    if (login.status !== 'valid') return [{ what: 'password login', check: login }];
    delete settings['platforms.matrix.password'];
    settings['platforms.matrix.access_token'] = login.accessToken!;
    settings['platforms.matrix.user_id'] = login.identity;
  }
  switch (door) {
    case 'matrix': {
      const matrix = doorConfig(config, door, settings);
      if (!matrix.homeserver || !matrix.access_token) return [];
      const check = await checkMatrixToken(matrix.access_token, { apiRoot: matrix.homeserver, timeoutMs });
      return [{ what: 'access token', check }];
    }
    case 'mattermost': {
      const mattermost = doorConfig(config, door, settings);
      if (!mattermost.url || !mattermost.token) return [];
      const check = await checkMattermostToken(mattermost.token, {
        apiRoot: mattermost.url,
        timeoutMs,
      });
      return [{ what: 'token', check }];
    }
    case 'email': {
      // What the doctor checks too: only servers that are set.
      const email = doorConfig(config, door, settings);
      const checks: DoorCheck[] = [];
      if (email.imap.host && email.imap.user)
        checks.push({ what: 'IMAP login', check: await checkImapLogin(email) });
      if (email.smtp.host) checks.push({ what: 'SMTP login', check: await checkSmtpLogin(email.smtp) });
      return checks;
    }
    case 'dingtalk': {
      const dingtalk = doorConfig(config, door, settings);
      if (!dingtalk.client_id || !dingtalk.client_secret) return [];
      return [{ what: 'app credentials', check: await checkDingTalkCredentials(dingtalk) }];
    }
    default: {
      const unknown: never = door;
      throw new Error(`Unknown door ${String(unknown)}`);
    }
  }
}

/**
 * Logs in to a Matrix homeserver with a password and returns the new device's access token, which
 * setup saves instead of the password (the adapter would otherwise log in, as a new device, at every
 * start).
 */
async function matrixPasswordLogin(
  homeserver: string,
  userId: string,
  password: string,
  timeoutMs = 5000,
): Promise<TokenCheck & { accessToken?: string }> {
  const url = `${homeserver.replace(/\/+$/, '')}/_matrix/client/v3/login`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: userId },
        password,
        initial_device_display_name: 'Herald',
      }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    return { status: 'unreachable', reason: cause instanceof Error ? cause.message : String(cause) };
  }
  const body = (await response.json().catch(() => ({}))) as {
    access_token?: string;
    user_id?: string;
    error?: string;
  };
  if (response.ok && body.access_token) {
    return { status: 'valid', identity: body.user_id ?? userId, accessToken: body.access_token };
  }
  const reason = body.error ? `${body.error} (HTTP ${response.status})` : `HTTP ${response.status}`;
  return response.status < 500 ? { status: 'rejected', reason } : { status: 'unreachable', reason };
}
