/**
 * Renders the agent's Markdown as the `org.matrix.custom.html` body of a Matrix message. marked does
 * the parsing; the renderer overrides keep the output inside the tag set the Matrix spec recommends
 * clients display (p, a, code, pre, lists, tables, headings, blockquote, em/strong/del, hr, br): raw
 * HTML the model writes is escaped as text, links keep only http(s)/mailto targets, images (which
 * Matrix allows only as `mxc://`) become links, and task-list checkboxes become `[ ]`/`[x]` text. So
 * the result is safe by construction, without a DOM sanitiser. It does not count or split text.
 */
import { Marked, type Tokens } from 'marked';

const safeHref = /^(?:https?:|mailto:)/i;

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    html(token: Tokens.HTML | Tokens.Tag): string {
      return escapeHtml(token.text);
    },
    link(token: Tokens.Link): string {
      const text = this.parser.parseInline(token.tokens);
      if (!safeHref.test(token.href)) return text;
      return `<a href="${escapeHtml(token.href)}">${text}</a>`;
    },
    image(token: Tokens.Image): string {
      const alt = escapeHtml(token.text || token.href);
      return safeHref.test(token.href) ? `<a href="${escapeHtml(token.href)}">${alt}</a>` : alt;
    },
    checkbox(token: Tokens.Checkbox): string {
      return token.checked ? '[x] ' : '[ ] ';
    },
  },
});

/** The HTML body for `text`, trimmed of the trailing newline marked leaves. */
export function toMatrixHtml(text: string): string {
  return (marked.parse(text) as string).trim();
}
