/**
 * Renders the agent's Markdown as the subset of HTML Telegram accepts (parse_mode HTML): fenced code
 * blocks, inline code, bold, italic, strikethrough and links; everything else is escaped text. It is
 * safe on partial text while a reply streams (an unclosed fence becomes a closed `<pre>`, unmatched
 * markers stay literal) and never produces unbalanced tags from well-formed input; the adapter still
 * retries as plain text if Telegram rejects the entities. It does not count or split.
 */

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttribute(text: string): string {
  return escapeHtml(text).replace(/"/g, '&quot;');
}

/** Emphasis Markdown on already-escaped text. */
function renderEmphasis(escaped: string): string {
  return escaped
    .replace(/\*\*(?=\S)([^\n]*?\S)\*\*/g, '<b>$1</b>')
    .replace(/(^|[^\w])__(?=\S)([^\n]*?\S)__(?=[^\w]|$)/g, '$1<b>$2</b>')
    .replace(/~~(?=\S)([^\n]*?\S)~~/g, '<s>$1</s>')
    .replace(/(^|[^\w*])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?=[^\w*]|$)/g, '$1<i>$2</i>')
    .replace(/(^|[^\w])_(?=[^\s_])([^_\n]*?[^\s_])_(?=[^\w]|$)/g, '$1<i>$2</i>');
}

/** Links and emphasis on already-escaped text; URLs are kept out of the emphasis pass. */
function renderInline(escaped: string): string {
  let out = '';
  let last = 0;
  for (const match of escaped.matchAll(/\[([^\]\n]+)\]\(((?:https?|tg):\/\/[^\s)]+)\)/g)) {
    out += renderEmphasis(escaped.slice(last, match.index));
    out += `<a href="${match[2]!.replace(/"/g, '&quot;')}">${renderEmphasis(match[1]!)}</a>`;
    last = match.index + match[0].length;
  }
  return out + renderEmphasis(escaped.slice(last));
}

/** Renders text that contains no fenced block: inline code spans are protected from other markup. */
function renderParagraphs(text: string): string {
  let out = '';
  let last = 0;
  for (const match of text.matchAll(/`([^`\n]+)`/g)) {
    out += renderInline(escapeHtml(text.slice(last, match.index)));
    out += `<code>${escapeHtml(match[1]!)}</code>`;
    last = match.index + match[0].length;
  }
  return out + renderInline(escapeHtml(text.slice(last)));
}

/** Markdown → Telegram HTML. */
export function renderTelegramHtml(markdown: string): string {
  let out = '';
  let rest = markdown;
  const open = /(^|\n) {0,3}(`{3,}|~{3,})([^\n`]*)\n?/;
  while (rest) {
    const start = open.exec(rest);
    if (!start) {
      out += renderParagraphs(rest);
      break;
    }
    const fenceStart = start.index + start[1]!.length;
    out += renderParagraphs(rest.slice(0, fenceStart));
    const marker = start[2]!;
    const language = start[3]!.trim().split(/\s+/)[0] ?? '';
    const bodyStart = start.index + start[0].length;
    const close = new RegExp(
      `(^|\\n) {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*(?=\\n|$)`,
      'g',
    );
    close.lastIndex = bodyStart;
    let end = close.exec(rest);
    // A fence found at bodyStart-1 would be the opening line's own newline; require it after the body starts.
    while (end && end.index + end[1]!.length < bodyStart) end = close.exec(rest);
    const body = end ? rest.slice(bodyStart, end.index) : rest.slice(bodyStart);
    const code = escapeHtml(body);
    out += language
      ? `<pre><code class="language-${escapeAttribute(language)}">${code}</code></pre>`
      : `<pre>${code}</pre>`;
    rest = end ? rest.slice(end.index + end[0].length) : '';
  }
  return out;
}

/** Telegram's message length: UTF-16 code units of the visible text. */
export function telegramLength(text: string): number {
  return text.length;
}
