/**
 * The wizard's questions for the doors configured by server details — Matrix (homeserver and an access
 * token, or a user id and password traded for a token), Mattermost (URL and token), email (IMAP and
 * SMTP servers, the bot's address, allowed senders) and DingTalk (client id and secret) — each followed
 * by the live checks of setup-doors.ts. A rejected check asks again (starting from the answers given),
 * or drops the door when the user would rather not; an unreachable server is saved with a warning.
 * Every question starts from the current value, and an empty secret keeps the current one.
 */
import type { HeraldConfig } from '../config/index.ts';
import {
  checkDoor,
  type DoorCheck,
  type DoorSettings,
  doorConfig,
  type ServerDoor,
  serverDoorLabels,
} from './setup-doors.ts';
import type { SetupPrompter } from './setup-prompter.ts';
import { isPort, splitList } from './setup-values.ts';

/** The settings to save for `door`, or undefined when the user gave up on it. */
export async function askServerDoor(
  prompter: SetupPrompter,
  config: HeraldConfig,
  door: ServerDoor,
): Promise<DoorSettings | undefined> {
  let answers: DoorSettings = {};
  for (;;) {
    // Merged, so a secret left empty on a second round keeps the first round's answer; a Matrix
    // password is not kept: it is asked whenever it is used, and a token may replace it.
    const { 'platforms.matrix.password': _password, ...kept } = answers;
    answers = { ...kept, ...(await questions[door](prompter, config, kept)) };
    const checks = await prompter.spin(
      `Checking with ${serverDoorLabels[door]}`,
      () => checkDoor(config, door, answers),
      (results) => results.map((result) => checkLine(door, result)).join('\n'),
    );
    if (!checks.some((result) => result.check.status === 'rejected')) return answers;
    const again = await prompter.confirm({
      message: `${serverDoorLabels[door]} refused. Enter the details again? (no: leave ${serverDoorLabels[door]} as it was)`,
      initialValue: true,
    });
    if (!again) return undefined;
  }
}

function checkLine(door: ServerDoor, { what, check }: DoorCheck): string {
  const label = serverDoorLabels[door];
  switch (check.status) {
    case 'valid':
      return `${label} ${what} accepted: ${check.identity}`;
    case 'rejected':
      return `${label} rejected the ${what}: ${check.reason}`;
    case 'unreachable':
      return `Could not reach ${label} to check the ${what} (${check.reason}); it is saved unchecked`;
    default: {
      const unknown: never = check;
      return String(unknown);
    }
  }
}

type Questions = (
  prompter: SetupPrompter,
  config: HeraldConfig,
  previous: DoorSettings,
) => Promise<DoorSettings>;

const questions: Record<ServerDoor, Questions> = {
  async matrix(prompter, config, previous) {
    const current = doorConfig(config, 'matrix', previous);
    const settings: DoorSettings = {
      'platforms.matrix.homeserver': await askUrl(
        prompter,
        'Matrix homeserver URL',
        current.homeserver,
        'https://matrix.example.org',
      ),
    };
    const login = await prompter.select<'token' | 'password'>({
      message: 'How does the bot account sign in?',
      options: [
        { value: 'token', label: 'Access token', hint: 'from Element: Settings → Help & About' },
        { value: 'password', label: 'User id and password', hint: 'traded for a token now; not stored' },
      ],
      initialValue: current.access_token || !current.password ? 'token' : 'password',
    });
    if (login === 'token') {
      const token = await askSecret(prompter, 'Matrix access token', current.access_token);
      if (token) settings['platforms.matrix.access_token'] = token;
    } else {
      settings['platforms.matrix.user_id'] = await prompter.text({
        message: 'Bot user id (e.g. @herald:example.org)',
        initialValue: current.user_id ?? '',
        validate: (value) =>
          /^@[^:]+:.+$/.test(value) ? undefined : 'A user id looks like @herald:example.org',
      });
      settings['platforms.matrix.password'] = await prompter.password({
        message: 'Bot password',
        validate: (value) => (value ? undefined : 'Enter the password'),
      });
    }
    settings['platforms.matrix.allowed_users'] = await askUsers(
      prompter,
      'Matrix user ids allowed to talk to the bot (comma-separated, e.g. @alice:example.org)',
      current.allowed_users,
    );
    return settings;
  },

  async mattermost(prompter, config, previous) {
    const current = doorConfig(config, 'mattermost', previous);
    const settings: DoorSettings = {
      'platforms.mattermost.url': await askUrl(
        prompter,
        'Mattermost server URL',
        current.url,
        'https://chat.example.org',
      ),
    };
    const token = await askSecret(prompter, 'Mattermost bot token', current.token);
    if (token) settings['platforms.mattermost.token'] = token;
    settings['platforms.mattermost.allowed_users'] = await askUsers(
      prompter,
      'Mattermost user ids allowed to talk to the bot (26 characters each, comma-separated)',
      current.allowed_users,
    );
    return settings;
  },

  async email(prompter, config, previous) {
    const current = doorConfig(config, 'email', previous);
    const address = await prompter.text({
      message: "The bot's email address (the From of its replies)",
      initialValue: current.address ?? '',
      validate: (value) =>
        /^[^\s@]+@[^\s@]+$/.test(value) ? undefined : 'Enter an address such as bot@example.org',
    });
    const settings: DoorSettings = { 'platforms.email.address': address };
    for (const [server, label] of [
      ['imap', 'IMAP (incoming mail)'],
      ['smtp', 'SMTP (outgoing mail)'],
    ] as const) {
      const now = current[server];
      const key = (field: string) => `platforms.email.${server}.${field}`;
      settings[key('host')] = await prompter.text({
        message: `${label} server`,
        initialValue: now.host ?? '',
        validate: (value) => (value ? undefined : 'Enter the server name'),
      });
      const tls = await prompter.confirm({
        message: `${label}: implicit TLS? (no: plain, upgraded by STARTTLS when offered)`,
        initialValue: now.tls,
      });
      settings[key('tls')] = tls;
      const defaultPort = server === 'imap' ? (tls ? 993 : 143) : tls ? 465 : 587;
      settings[key('port')] = Number(
        await prompter.text({
          message: `${label} port`,
          initialValue: String(now.tls === tls ? now.port : defaultPort),
          validate: (value) => (isPort(value) ? undefined : 'Enter a port from 1 to 65535'),
        }),
      );
      settings[key('user')] = await prompter.text({
        message: `${label} login`,
        initialValue:
          now.user ?? (server === 'smtp' ? String(settings['platforms.email.imap.user']) : address),
      });
      if (server === 'imap') {
        const password = await askSecret(prompter, `${label} password`, now.password);
        if (password) settings[key('password')] = password;
      } else {
        // Most providers use one password for both; a different one is typed here.
        const password = await prompter.password({ message: `${label} password (empty: the IMAP password)` });
        const imapPassword = settings['platforms.email.imap.password'] ?? current.imap.password;
        if (password || imapPassword !== undefined)
          settings[key('password')] = password || String(imapPassword);
      }
    }
    const senders = await prompter.text({
      message:
        'Addresses (ann@example.org) or domains (@example.org) whose mail is answered, comma-separated',
      initialValue: current.allowed_senders.join(', '),
    });
    settings['platforms.email.allowed_senders'] = splitList(senders).map((sender) => sender.toLowerCase());
    if (splitList(senders).length === 0)
      prompter.warn('No allowed senders yet: the bot answers no mail until you add some.');
    return settings;
  },

  async dingtalk(prompter, config, previous) {
    const current = doorConfig(config, 'dingtalk', previous);
    const settings: DoorSettings = {
      'platforms.dingtalk.client_id': await prompter.text({
        message: 'DingTalk app Client ID (AppKey)',
        initialValue: current.client_id ?? '',
        validate: (value) => (value ? undefined : 'Enter the Client ID'),
      }),
    };
    const secret = await askSecret(prompter, 'DingTalk app Client Secret', current.client_secret);
    if (secret) settings['platforms.dingtalk.client_secret'] = secret;
    settings['platforms.dingtalk.allowed_users'] = await askUsers(
      prompter,
      'DingTalk staff ids allowed to talk to the bot (comma-separated)',
      current.allowed_users,
    );
    return settings;
  },
};

async function askUrl(
  prompter: SetupPrompter,
  label: string,
  current: string | undefined,
  example: string,
): Promise<string> {
  return prompter.text({
    message: `${label} (e.g. ${example})`,
    initialValue: current ?? '',
    validate: (value) => (URL.canParse(value) ? undefined : `Enter a URL such as ${example}`),
  });
}

/** A secret; empty keeps the current one when there is one. */
async function askSecret(
  prompter: SetupPrompter,
  label: string,
  current: string | undefined,
): Promise<string> {
  return prompter.password({
    message: `${label}${current ? ' (empty keeps the current one)' : ''}`,
    validate: (value) => (value || current ? undefined : `Enter the ${label}`),
  });
}

async function askUsers(
  prompter: SetupPrompter,
  message: string,
  current: readonly string[],
): Promise<string[]> {
  const users = splitList(await prompter.text({ message, initialValue: current.join(', ') }));
  if (users.length === 0) prompter.warn('Nobody allowed yet: the bot answers nobody until you add some.');
  return users;
}
