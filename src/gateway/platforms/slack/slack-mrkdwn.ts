/**
 * Converts the agent's Markdown into Slack mrkdwn for `text` fields (chat.postMessage/chat.update):
 * `**bold**` → `*bold*`, `*italic*` → `_italic_`, `~~strike~~` → `~strike~`, `[text](url)` →
 * `<url|text>`, headings → bold lines, list bullets → `•`, and `&`, `<`, `>` escaped everywhere as
 * Slack requires. Code spans and fences are escaped but otherwise left alone (a fence's language tag
 * is dropped: Slack would show it as text). Native streams take `markdown_text` and skip this.
 * It is a best-effort text transform, not a Markdown parser: nested or malformed emphasis may pass
 * through unchanged, which Slack then shows literally.
 */

/** Code fences (closed, or still open at the end while streaming) and inline code spans. */
const CODE = /```[\s\S]*?(?:```|$)|`[^`\n]+`/g;
/** Marks converted bold so the italic rule does not mistake its `*` for italics. */
const BOLD = '\u0001';

export function escapeSlackText(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

export function toSlackMrkdwn(markdown: string): string {
  let out = '';
  let last = 0;
  for (const match of markdown.matchAll(CODE)) {
    out += convertProse(markdown.slice(last, match.index));
    out += convertCode(match[0]);
    last = match.index + match[0].length;
  }
  return out + convertProse(markdown.slice(last));
}

function convertCode(code: string): string {
  // ```ts\n…``` → ```\n…```: Slack has no syntax highlighting and would print the tag.
  const withoutLanguage = code.startsWith('```') ? code.replace(/^```[\w+#.-]+\n/, '```\n') : code;
  return escapeSlackText(withoutLanguage);
}

function convertProse(text: string): string {
  if (text.length === 0) return text;
  return (
    escapeSlackText(text)
      .replace(/^(\s*)[-*+]\s+/gm, '$1• ')
      .replace(/^#{1,6}\s+(.+?)\s*#*$/gm, `${BOLD}$1${BOLD}`)
      .replace(/!?\[([^\]\n]+)\]\(([^)\s]+)\)/g, '<$2|$1>')
      // Italics first, so `**bold with *inner* italics**` still finds its bold pair afterwards.
      .replace(/(^|[^*\w])\*(?=\S)([^*\n]+?)\*(?!\w)/g, '$1_$2_')
      .replace(/\*\*(?=\S)([^*\n]+?)\*\*/g, `${BOLD}$1${BOLD}`)
      .replace(/__(?=\S)([^_\n]+?)__/g, `${BOLD}$1${BOLD}`)
      .replace(/~~(?=\S)([^~\n]+?)~~/g, '~$1~')
      .replaceAll(BOLD, '*')
  );
}
