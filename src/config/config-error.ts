/**
 * The one error type of config loading. Its message is a single line a user can act on: the dotted
 * key, the offending value, where it came from (file or env var) and what is expected. The CLI's exit
 * handler prints it as is and exits with status 2; nothing here decides how it is shown.
 */
export class ConfigError extends Error {
  readonly code = 'config_invalid';
  /** Dotted config key at fault, when one is known (not for YAML syntax errors). */
  readonly key: string | undefined;

  constructor(message: string, options: { key?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'ConfigError';
    this.key = options.key;
  }
}
