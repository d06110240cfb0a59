/**
 * A failure the CLI itself detects (a cancelled prompt, failed doctor checks, an empty prompt, a
 * HERALD_HOME another serve holds, a setup flag that cannot work, a shared store that cannot be opened,
 * a store copy that would overwrite other data).
 * Like every Herald error it carries a stable `code`; its message is the one line the user sees.
 */
export type CliErrorCode =
  | 'cancelled'
  | 'doctor_failed'
  | 'empty_prompt'
  | 'home_locked'
  | 'invalid_mcp_server'
  | 'mcp_server_exists'
  | 'invalid_option'
  | 'pairing_code_unknown'
  | 'setup_invalid'
  | 'store_conflict'
  | 'store_unavailable';

export class CliError extends Error {
  readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string) {
    super(message);
    this.name = 'CliError';
    this.code = code;
  }
}
