/**
 * The web chat's static files: `GET /` (the page) and `GET /web/…` (its scripts, styles and the vendor
 * ES modules of preact, htm, marked, DOMPurify and highlight.js, read from node_modules). Only the
 * files named in `WEB_CHAT_FILES` exist — a request path is a key into that manifest, never a file
 * name — so no path can reach another file. Everything is read once when the routes are registered and
 * served from memory with an ETag. The files hold no data and are public (security.ts); every request
 * the page makes goes through the API's normal auth. It does not serve the API itself.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/** highlight.js grammars offered in the browser: the languages an agent's answers mostly hold. */
const HIGHLIGHT_LANGUAGES = [
  'bash',
  'c',
  'cpp',
  'css',
  'diff',
  'go',
  'java',
  'javascript',
  'json',
  'markdown',
  'python',
  'rust',
  'shell',
  'sql',
  'typescript',
  'xml',
  'yaml',
];

interface WebFile {
  /** Where the bytes come from: a file of the package's `web/` folder or a module specifier. */
  from: { web: string } | { module: string };
  type: string;
  /** highlight.js ships its core as CommonJS only; wrapped into an ES module when read. */
  commonJs?: boolean;
}

const js = 'text/javascript; charset=utf-8';
const css = 'text/css; charset=utf-8';

/** The manifest: URL path → source. Nothing outside it is served. */
export const WEB_CHAT_FILES: Readonly<Record<string, WebFile>> = {
  '/': { from: { web: 'index.html' }, type: 'text/html; charset=utf-8' },
  '/web/app.js': { from: { web: 'app.js' }, type: js },
  '/web/api.js': { from: { web: 'api.js' }, type: js },
  '/web/markdown.js': { from: { web: 'markdown.js' }, type: js },
  '/web/chat.css': { from: { web: 'chat.css' }, type: css },
  '/web/vendor/preact.mjs': { from: { module: 'preact' }, type: js },
  '/web/vendor/preact-hooks.mjs': { from: { module: 'preact/hooks' }, type: js },
  '/web/vendor/htm.mjs': { from: { module: 'htm' }, type: js },
  '/web/vendor/marked.mjs': { from: { module: 'marked' }, type: js },
  '/web/vendor/dompurify.mjs': { from: { module: 'dompurify' }, type: js },
  '/web/vendor/highlight.mjs': {
    from: { module: 'highlight.js/package.json#lib/core.js' },
    type: js,
    commonJs: true,
  },
  '/web/vendor/highlight-light.css': { from: { module: 'highlight.js/styles/github.css' }, type: css },
  '/web/vendor/highlight-dark.css': { from: { module: 'highlight.js/styles/github-dark.css' }, type: css },
  ...Object.fromEntries(
    HIGHLIGHT_LANGUAGES.map((name) => [
      `/web/vendor/hljs/${name}.js`,
      { from: { module: `highlight.js/lib/languages/${name}` }, type: js },
    ]),
  ),
};

/** Paths security.ts lets through without a key: the page and its files, which hold no data. */
export const WEB_CHAT_PATHS: ReadonlySet<string> = new Set(Object.keys(WEB_CHAT_FILES));

const webDir = new URL('../../../../web/', import.meta.url);

function sourcePath(from: WebFile['from']): string {
  if ('web' in from) return fileURLToPath(new URL(from.web, webDir));
  // `pkg/package.json#inner/path`: a file the package's exports do not list, next to its package.json.
  const [specifier, inner] = from.module.split('#') as [string, string | undefined];
  const resolved = new URL(import.meta.resolve(specifier));
  return fileURLToPath(inner ? new URL(inner, resolved) : resolved);
}

function readSource(file: WebFile): string {
  // The source maps are not in the manifest: without the comment devtools does not ask for them (a 404).
  const text = readFileSync(sourcePath(file.from), 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '');
  return file.commonJs ? `const module = { exports: {} };\n${text}\nexport default module.exports;\n` : text;
}

/** The import map's text, pinned by hash in the page's CSP (the page has no other inline script). */
function importMapOf(html: string): string {
  const match = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html);
  if (!match) throw new Error('web/index.html has no import map');
  return match[1]!;
}

/** Page CSP: scripts and styles from this origin only, the import map by hash, requests to this origin. */
function pageCsp(html: string): string {
  const hash = createHash('sha256').update(importMapOf(html)).digest('base64');
  return [
    "default-src 'none'",
    `script-src 'self' 'sha256-${hash}'`,
    "style-src 'self'",
    // Pasted images are shown from data: URLs; no remote image can be loaded by model output.
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

interface Served {
  body: string;
  type: string;
  etag: string;
}

export function registerWebChatRoutes(app: FastifyInstance): void {
  const served = new Map<string, Served>();
  for (const [path, file] of Object.entries(WEB_CHAT_FILES)) {
    const body = readSource(file);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    served.set(path, { body, type: file.type, etag });
  }
  const csp = pageCsp(served.get('/')!.body);

  for (const [path, file] of served) {
    app.get(path, async (request, reply) => {
      reply
        .header('content-type', file.type)
        .header('etag', file.etag)
        // Revalidated on every load (a 304 when unchanged), so an upgrade shows at once.
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer');
      if (path === '/') reply.header('content-security-policy', csp).header('x-frame-options', 'DENY');
      if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
      return reply.send(file.body);
    });
  }
}
