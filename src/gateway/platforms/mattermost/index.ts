/**
 * Front door of the Mattermost adapter: the composition root builds a `MattermostPlatform` when a
 * server URL and bot token are configured. Nothing else in the folder is meant to be imported.
 */
export { countMattermostLength } from './mattermost-limits.ts';
export {
  type MattermostConfig,
  MattermostPlatform,
  type MattermostPlatformOptions,
} from './mattermost-platform.ts';
