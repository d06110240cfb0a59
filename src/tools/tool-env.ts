/**
 * The environment of a tool's child process, built from an allow-list rather than by scrubbing:
 * the few variables a shell needs to work (search path, locale, terminal, time zone, temp dir, who
 * and where it is) copied from Herald's environment, plus exactly what the operator lists in
 * `tools.terminal.env`. Everything else stays out whatever its name — Herald's own keys and tokens,
 * the API server's settings, cloud credentials an operator's shell happened to export. It does not
 * decide which user the child runs as (tool-user.ts).
 */
import type { ToolUser } from './tool-user.ts';

/** Copied from Herald's environment when set; `LC_*` too. Documented in docs/security.md. */
export const passedEnvNames: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TERM',
  'TZ',
  'TMPDIR',
];

const passed = new Set(passedEnvNames);

export interface ToolEnvOptions {
  /** Herald's environment, the source of the allow-listed variables. */
  source: Record<string, string | undefined>;
  /** `tools.terminal.env`: set last, so the operator can also override an allow-listed value. */
  extra: Record<string, string>;
  /** The shell the command runs in, as `SHELL`. */
  shell: string;
  /** The workspace: HOME of a switched user, whose own home is usually absent or not theirs to write. */
  workspace: string;
  /** The user the child runs as; undefined = Herald's own user. */
  user?: ToolUser;
}

export function toolEnv(options: ToolEnvOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.source)) {
    if (value !== undefined && (passed.has(name) || name.startsWith('LC_'))) env[name] = value;
  }
  env['SHELL'] = options.shell;
  if (options.user) {
    env['HOME'] = options.workspace;
    env['USER'] = options.user.name;
    env['LOGNAME'] = options.user.name;
  }
  // Pagers and credential prompts would wait forever on a closed stdin.
  Object.assign(env, { PAGER: 'cat', GIT_PAGER: 'cat', GIT_TERMINAL_PROMPT: '0' });
  return { ...env, ...options.extra };
}
