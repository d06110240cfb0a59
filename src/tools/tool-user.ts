/**
 * Decides which user tool commands run as (`tools.run_as`). When Herald runs as root, a command the
 * model writes must not run as root too: `auto` picks `nobody`, a name or uid picks that user, and
 * `off` keeps root (with a warning). When Herald is not root it cannot switch users; tools then run
 * as Herald's own user, which is said once as a warning rather than pretended away. Names are looked
 * up with `getent passwd` (NSS: local, LDAP…), falling back to /etc/passwd where getent is missing.
 * It does not spawn anything or touch files (tool-isolation.ts applies the decision).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/index.ts';

export interface ToolUser {
  uid: number;
  gid: number;
  /** The user name (the uid as text when it has no passwd entry), for USER/LOGNAME and messages. */
  name: string;
}

export interface ToolUserDecision {
  /** The user to switch to; undefined = tools run as Herald's own user. */
  user: ToolUser | undefined;
  /** Why tools are not isolated from Herald's files, to log once at startup. */
  warning?: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

/** nobody/nogroup on Debian, Ubuntu, Alpine and RHEL alike, for systems whose passwd lacks the entry. */
const nobody: ToolUser = { uid: 65534, gid: 65534, name: 'nobody' };

const rootWarning = (why: string): string =>
  `${why}: tool commands run as root and can read every secret Herald has (docs/security.md)`;

const sameUserWarning = (uid: number): string =>
  `tools run as Herald's own user (uid ${uid}) and can read whatever Herald can, including HERALD_HOME's ` +
  '.env and database; run Herald as root with tools.run_as, or in a container, to isolate them (docs/security.md)';

/**
 * `heraldUid` is Herald's effective uid (`process.geteuid()`); `lookup` finds a passwd entry by name
 * or uid (injected by tests).
 */
export function resolveToolUser(
  runAs: string,
  heraldUid: number,
  lookup: (key: string) => PasswdEntry | undefined = passwdEntry,
): ToolUserDecision {
  if (runAs === 'off') {
    return {
      user: undefined,
      warning: heraldUid === 0 ? rootWarning('tools.run_as is off') : sameUserWarning(heraldUid),
    };
  }
  if (runAs === 'auto') {
    if (heraldUid !== 0) return { user: undefined, warning: sameUserWarning(heraldUid) };
    const entry = lookup('nobody');
    return { user: entry ? { ...entry } : nobody };
  }

  const user = explicitUser(runAs, lookup);
  if (heraldUid === 0) {
    return user.uid === 0
      ? { user: undefined, warning: rootWarning(`tools.run_as = "${runAs}" is root`) }
      : { user };
  }
  if (user.uid === heraldUid) return { user: undefined, warning: sameUserWarning(heraldUid) };
  throw new ConfigError(
    `Invalid config: tools.run_as = "${runAs}" needs Herald to run as root to switch users (it runs as uid ${heraldUid}); set it to auto or off`,
    { key: 'tools.run_as' },
  );
}

function explicitUser(runAs: string, lookup: (key: string) => PasswdEntry | undefined): ToolUser {
  const ids = /^(\d+)(?::(\d+))?$/.exec(runAs);
  const entry = lookup(ids ? ids[1]! : runAs);
  if (ids) {
    const uid = Number(ids[1]);
    // A bare uid without a passwd entry (common in containers) gets the group of the same number.
    const gid = ids[2] !== undefined ? Number(ids[2]) : (entry?.gid ?? uid);
    return { uid, gid, name: entry?.name ?? String(uid) };
  }
  if (!entry) {
    throw new ConfigError(
      `Invalid config: tools.run_as = "${runAs}": no such user (getent passwd ${runAs} found nothing)`,
      { key: 'tools.run_as' },
    );
  }
  return { ...entry };
}

function passwdEntry(key: string): PasswdEntry | undefined {
  let text: string;
  try {
    text = execFileSync('getent', ['passwd', key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (error) {
    // getent exits 2 for an unknown user; only a missing getent sends us to the file.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
    text = readFileSync('/etc/passwd', 'utf8');
  }
  for (const line of text.split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name === undefined || uid === undefined || gid === undefined) continue;
    if (name === key || uid === key) return { name, uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}
