/**
 * Front door of the Discord adapter: the composition root builds a `DiscordPlatform` when a Discord
 * token is configured. Nothing else in the folder is meant to be imported from outside.
 */

export { countDiscordLength } from './discord-limits.ts';
export { DiscordPlatform, type DiscordPlatformOptions } from './discord-platform.ts';
