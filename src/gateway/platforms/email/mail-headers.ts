/**
 * Reads the raw header block of a mail (as IMAP returns it) into lowercased names and unfolded values,
 * and pulls message ids out of Message-ID / In-Reply-To / References. Values stay as sent (encoded
 * words are not decoded): the headers read this way are ASCII by nature (ids, Auto-Submitted,
 * Precedence, List-Id); the subject and addresses come decoded from the IMAP envelope instead.
 */

export type MailHeaders = ReadonlyMap<string, readonly string[]>;

export function parseMailHeaders(raw: string): MailHeaders {
  const headers = new Map<string, string[]>();
  const unfolded = raw.replace(/\r\n?/g, '\n').replace(/\n[ \t]+/g, ' ');
  for (const line of unfolded.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const values = headers.get(name) ?? [];
    values.push(line.slice(colon + 1).trim());
    headers.set(name, values);
  }
  return headers;
}

/** The first value of a header, or undefined. */
export function header(headers: MailHeaders, name: string): string | undefined {
  return headers.get(name)?.[0];
}

/** Every `<id>` in a header value, in order. */
export function messageIds(value: string | undefined): string[] {
  return value?.match(/<[^<>\s]+>/g) ?? [];
}
