/**
 * Which toolset a run gets when its caller names none: the API server's clients get `api`, the
 * terminal gets `cli`, every messaging platform gets `chat`. Config decides what each set contains;
 * this only maps a door to a set name.
 */
import type { PlatformName } from './types.ts';

export function defaultToolsetFor(platform: PlatformName): string {
  switch (platform) {
    case 'api':
      return 'api';
    case 'cli':
      return 'cli';
    case 'telegram':
    case 'discord':
    case 'slack':
    case 'whatsapp':
    case 'email':
    case 'dingtalk':
    case 'matrix':
    case 'mattermost':
      return 'chat';
    default:
      throw new Error(`Unknown platform: ${String(platform satisfies never)}`);
  }
}
