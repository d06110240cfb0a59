/**
 * A failure the CLI itself detects (a cancelled prompt, failed doctor checks, an empty prompt, a
 * HERALD_HOME another serve holds).
 * Like every Herald error it carries a stable `code`; its message is the one line the user sees.
 */
export type CliErrorCode =
  | 'cancelled'
  | 'doctor_failed'
  | 'empty_prompt'
  | 'home_locked'
  | 'pairing_code_unknown';

export class CliError extends Error {
  readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string) {
    super(message);
    this.name = 'CliError';
    this.code = code;
  }
}
