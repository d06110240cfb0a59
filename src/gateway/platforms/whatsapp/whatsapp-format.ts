/**
 * Converts the agent's Markdown into WhatsApp's own formatting: `**bold**`/`__bold__` → `*bold*`,
 * `*italic*` → `_italic_`, `~~strike~~` → `~strike~`, headings → bold lines, `[text](url)` →
 * `text (url)`, `*` bullets → `-` bullets (a leading `*` would read as bold). Code spans and ``` blocks
 * are left alone except that a fence's language tag is dropped (WhatsApp would print it). It is a
 * best-effort text transform, not a Markdown parser: nested or malformed emphasis may pass through
 * unchanged, which WhatsApp then shows literally. It does not add the reply prefix.
 */

/** Code fences (closed, or still open at the end while streaming) and inline code spans. */
const CODE = /```[\s\S]*?(?:```|$)|`[^`\n]+`/g;
/** Marks converted bold so the italic rule does not mistake its `*` for italics. */
const BOLD = '\u0001';

export function toWhatsAppText(markdown: string): string {
  let out = '';
  let last = 0;
  for (const match of markdown.matchAll(CODE)) {
    out += convertProse(markdown.slice(last, match.index));
    out += match[0].startsWith('```') ? match[0].replace(/^```[\w+#.-]+\n/, '```\n') : match[0];
    last = match.index + match[0].length;
  }
  return out + convertProse(markdown.slice(last));
}

function convertProse(text: string): string {
  if (text.length === 0) return text;
  return (
    text
      .replace(/^(\s*)[*+]\s+/gm, '$1- ')
      .replace(/^#{1,6}\s+(.+?)\s*#*$/gm, `${BOLD}$1${BOLD}`)
      .replace(/!?\[([^\]\n]+)\]\(([^)\s]+)\)/g, (_all, label: string, url: string) =>
        label === url ? url : `${label} (${url})`,
      )
      // Italics first, so `**bold with *inner* italics**` still finds its bold pair afterwards.
      .replace(/(^|[^*\w])\*(?=\S)([^*\n]+?)\*(?!\w)/g, '$1_$2_')
      .replace(/\*\*(?=\S)([^*\n]+?)\*\*/g, `${BOLD}$1${BOLD}`)
      .replace(/__(?=\S)([^_\n]+?)__/g, `${BOLD}$1${BOLD}`)
      .replace(/~~(?=\S)([^~\n]+?)~~/g, '~$1~')
      .replaceAll(BOLD, '*')
  );
}
