/**
 * Parsing of the few free-form answers `herald setup` takes, shared by the wizard and the flags: lists
 * of user ids and port numbers. It checks shape only; config validation happens at the next load.
 */

/** "123, 456 789" → ["123", "456", "789"]. */
export function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

export function isPort(value: string): boolean {
  return /^\d{1,5}$/.test(value) && Number(value) >= 1 && Number(value) <= 65535;
}
