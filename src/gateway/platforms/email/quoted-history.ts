/**
 * Cuts the quoted history out of an email reply, so the agent sees only what the sender wrote: the
 * thread's earlier mails are already in the conversation. It removes `>` quoted lines, the
 * "On … wrote:" attribution before them, and everything after the separators mail clients put above
 * a forwarded or replied-to message (Outlook's "-----Original Message-----" and From:/Sent: block,
 * Gmail/Apple's attribution, a `-- ` signature). It works on plain text only and never touches the
 * first line, so a mail that is only a quote keeps something.
 */

/** A line where everything below is the previous mail (or a signature). */
const cutMarkers: readonly RegExp[] = [
  /^-{2,}\s*(original message|forwarded message|ursprüngliche nachricht|message d'origine)\s*-{2,}\s*$/i,
  /^_{10,}\s*$/, // Outlook's rule above its From:/Sent: block
  /^(from|von|de):\s.+$/i, // an Outlook header block at the start of a line…
];

/** "On Mon, 1 Jan 2026 at 10:00, Ann <ann@example.com> wrote:" (may wrap onto a second line). */
const attribution = /^(on\b.+|le\b.+|am\b.+)(wrote|écrit|schrieb)\s*:\s*$/i;

export function trimQuotedHistory(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (i > 0 && isCut(line, lines[i + 1])) break;
    const joined = `${line} ${lines[i + 1] ?? ''}`.trim();
    if (
      i > 0 &&
      (attribution.test(line.trim()) || (attribution.test(joined) && /^\s*>/.test(lines[i + 2] ?? '')))
    )
      break;
    if (/^\s*>/.test(line)) continue;
    kept.push(line);
  }
  return kept.join('\n').trim();
}

function isCut(line: string, next: string | undefined): boolean {
  if (line === '-- ') return true; // RFC 3676 signature separator
  const trimmed = line.trimEnd();
  if (/^(from|von|de):\s/i.test(trimmed)) {
    // Only Outlook's block (From: then Sent:/Date:), not a sentence that starts with "From: ".
    return /^(sent|date|gesendet|envoyé|to):\s/i.test(next?.trim() ?? '');
  }
  return cutMarkers.some((marker) => marker.test(trimmed));
}
