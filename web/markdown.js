/**
 * Turns model output (untrusted) into safe HTML: Markdown by marked, then sanitised by DOMPurify (no
 * scripts, event handlers, style attributes, forms or remote images survive), then code blocks are
 * highlighted by highlight.js and given a copy button. It never inserts unsanitised HTML.
 */
import DOMPurify from 'dompurify';
import hljs from 'highlight.js';
import bash from 'highlight.js/languages/bash.js';
import c from 'highlight.js/languages/c.js';
import cpp from 'highlight.js/languages/cpp.js';
import css from 'highlight.js/languages/css.js';
import diff from 'highlight.js/languages/diff.js';
import go from 'highlight.js/languages/go.js';
import java from 'highlight.js/languages/java.js';
import javascript from 'highlight.js/languages/javascript.js';
import json from 'highlight.js/languages/json.js';
import markdown from 'highlight.js/languages/markdown.js';
import python from 'highlight.js/languages/python.js';
import rust from 'highlight.js/languages/rust.js';
import shell from 'highlight.js/languages/shell.js';
import sql from 'highlight.js/languages/sql.js';
import typescript from 'highlight.js/languages/typescript.js';
import xml from 'highlight.js/languages/xml.js';
import yaml from 'highlight.js/languages/yaml.js';
import { Marked } from 'marked';

const languages = {
  bash,
  c,
  cpp,
  css,
  diff,
  go,
  java,
  javascript,
  json,
  markdown,
  python,
  rust,
  shell,
  sql,
  typescript,
  xml,
  yaml,
};
for (const [name, grammar] of Object.entries(languages)) hljs.registerLanguage(name, grammar);

const marked = new Marked({ gfm: true, breaks: false });

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
  // A remote image in model output would be a request to anywhere (and a CSP error): only data: stays.
  if (node.tagName === 'IMG' && !/^data:image\//.test(node.getAttribute('src') ?? '')) {
    node.removeAttribute('src');
  }
});

/** @param {string} text Markdown from the model @returns {string} sanitised HTML */
export function renderMarkdown(text) {
  const html = /** @type {string} */ (marked.parse(text, { async: false }));
  return DOMPurify.sanitize(html, {
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select'],
    FORBID_ATTR: ['style'],
  });
}

/** @param {string} text */
async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  // Plain http on another host is not a secure context: the old way still works there.
  const area = document.createElement('textarea');
  area.value = text;
  document.body.append(area);
  area.select();
  document.execCommand('copy');
  area.remove();
}

/** Highlights the code blocks inside `root` (already sanitised) and gives each a copy button. */
export function decorateCode(/** @type {HTMLElement} */ root) {
  for (const code of root.querySelectorAll('pre > code')) {
    const pre = /** @type {HTMLElement} */ (code.parentElement);
    const language = /language-([\w-]+)/.exec(code.className)?.[1];
    if (language && hljs.getLanguage(language)) {
      // highlight.js escapes what it is given, so its HTML is as safe as the text.
      code.innerHTML = hljs.highlight(code.textContent ?? '', { language }).value;
      code.classList.add('hljs');
    }
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy';
    button.textContent = 'Copy';
    button.setAttribute('aria-label', `Copy ${language ?? ''} code`.replace('  ', ' '));
    button.addEventListener('click', async () => {
      await copyText(code.textContent ?? '');
      button.textContent = 'Copied';
      setTimeout(() => {
        button.textContent = 'Copy';
      }, 1500);
    });
    pre.append(button);
  }
}
