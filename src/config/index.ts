/**
 * Front door of the config subsystem: load and validate the config once at start, find Herald's files,
 * and show the effective config. Other subsystems import from here only.
 */
export { ConfigError } from './config-error.ts';
export { type ConfigVersionEntry, configVersions, introducedIn } from './config-versions.ts';
export { defaultConfigYaml } from './default-config-yaml.ts';
export { envBindings } from './env-overrides.ts';
export { type LoadConfigOptions, type LoadedConfig, loadConfig } from './load-config.ts';
export { clearUpgradeMark, upgradedFrom } from './migrate-config.ts';
export { type HeraldPaths, heraldPaths, resolveHome } from './paths.ts';
export {
  CONFIG_VERSION,
  configSchema,
  type HeraldConfig,
  isSecretKey,
  type McpServerConfig,
} from './schema.ts';
export { formatConfig } from './show-config.ts';
