/**
 * Where Herald keeps its files. `HERALD_HOME` (default `~/.herald`) holds config.yaml, .env, the
 * SQLite database and the default tool workspace. This module only computes paths; it creates nothing
 * (load-config.ts creates the home on first run).
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface HeraldPaths {
  home: string;
  configFile: string;
  envFile: string;
  database: string;
  /** Held by a running `herald serve` (src/cli/home-lock.ts). */
  lock: string;
  workspace: string;
  /** WhatsApp's linked-device auth state (Baileys' multi-file auth state): a secret, kept 0700. */
  whatsappAuth: string;
}

/** Resolves HERALD_HOME: an explicit `home`, else the `HERALD_HOME` env var, else `~/.herald`. */
export function resolveHome(
  options: { home?: string; env?: Record<string, string | undefined> } = {},
): string {
  const fromEnv = (options.env ?? process.env)['HERALD_HOME'];
  const home = options.home ?? (fromEnv ? fromEnv : join(homedir(), '.herald'));
  return resolve(expandTilde(home));
}

export function heraldPaths(home: string): HeraldPaths {
  return {
    home,
    configFile: join(home, 'config.yaml'),
    envFile: join(home, '.env'),
    database: join(home, 'herald.db'),
    lock: join(home, 'herald.lock'),
    workspace: join(home, 'workspace'),
    whatsappAuth: join(home, 'whatsapp'),
  };
}

/** `~/x` → `$HOME/x`, because shells do not expand a tilde inside quoted env values. */
export function expandTilde(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}
