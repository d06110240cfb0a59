/**
 * The `/status` page: one self-contained HTML document (no CDN, no build step) that fetches
 * `/status.json` and renders it, refreshing every few seconds. The page itself holds no data, so it is
 * served without a key; on a keyed server it asks for the key, sends it as a bearer token and keeps it
 * in sessionStorage (or, when asked to, localStorage). Values are rendered with `textContent` only.
 * A Content-Security-Policy pins the one inline script by hash and allows requests to this origin only.
 */
import { createHash } from 'node:crypto';

const SCRIPT = `
const KEY = 'herald.status.key';
const $ = (id) => document.getElementById(id);
const storedKey = () => sessionStorage.getItem(KEY) || localStorage.getItem(KEY) || '';
let timer;

function row(table, cells) {
  const tr = table.insertRow();
  for (const text of cells) tr.insertCell().textContent = text == null ? '–' : String(text);
}

function fill(id, rows) {
  const table = $(id);
  while (table.rows.length > 1) table.deleteRow(1);
  for (const cells of rows) row(table, cells);
}

function bytes(n) {
  return n < 1048576 ? (n / 1024).toFixed(1) + ' KiB' : (n / 1048576).toFixed(1) + ' MiB';
}

function render(s) {
  $('version').textContent = s.version;
  $('uptime').textContent = Math.floor(s.uptime_s / 3600) + ' h ' + Math.floor((s.uptime_s % 3600) / 60) + ' min';
  const up = s.model.upstream;
  $('model').textContent = s.model.configured ? s.model.id + (s.model.base_url ? ' at ' + s.model.base_url : '') : 'not configured (run herald setup)';
  $('upstream').textContent = up.state + (up.latency_ms == null ? '' : ', ' + up.latency_ms + ' ms to first token') + (up.last_error_code ? ', last error ' + up.last_error_code + ' at ' + up.last_error_at : '');
  $('upstream').className = up.state;
  fill('platforms', s.platforms.map((p) => [p.name, p.state + (p.leader ? ' (leader: ' + p.leader + ')' : ''), p.failures, p.last_error]));
  const platforms = new Set([...Object.keys(s.runs.in_flight), ...Object.keys(s.runs.queued)]);
  fill('runs', [...platforms].map((p) => [p, s.runs.in_flight[p] || 0, s.runs.queued[p] || 0]));
  $('today').textContent = s.today.requests + ' requests, ' + s.today.runs + ' runs, ' + s.today.prompt_tokens + ' prompt + ' + s.today.completion_tokens + ' completion tokens (' + s.today.date + ', UTC)';
  $('store').textContent = 'herald.db ' + bytes(s.store.database_bytes) + ', WAL ' + bytes(s.store.wal_bytes);
  fill('errors', s.recent_errors.map((e) => [e.at, e.code, e.status, e.route || e.platform, e.request_id]));
  $('updated').textContent = new Date().toLocaleTimeString();
}

async function refresh() {
  clearTimeout(timer);
  const key = storedKey();
  const response = await fetch('status.json', { headers: key ? { Authorization: 'Bearer ' + key } : {}, cache: 'no-store' }).catch(() => undefined);
  if (!response) {
    $('message').textContent = 'The server did not answer.';
  } else if (response.status === 401) {
    $('login').hidden = false;
    $('status').hidden = true;
    $('message').textContent = key ? 'That key was refused.' : 'This server needs its API key.';
    return;
  } else if (!response.ok) {
    $('message').textContent = 'Status failed: HTTP ' + response.status;
  } else {
    $('message').textContent = '';
    $('login').hidden = true;
    $('status').hidden = false;
    render(await response.json());
  }
  timer = setTimeout(refresh, 5000);
}

$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = $('key').value.trim();
  (($('remember').checked) ? localStorage : sessionStorage).setItem(KEY, key);
  $('key').value = '';
  refresh();
});
$('forget').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
  refresh();
});
refresh();
`;

/** The CSP hash of the inline script: the only script the page may run. */
const SCRIPT_HASH = createHash('sha256').update(SCRIPT).digest('base64');

export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src 'sha256-${SCRIPT_HASH}'`,
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Herald status</title>
<style>
  body { font: 14px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 56rem; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; } h2 { font-size: 1.05rem; margin-top: 1.5rem; }
  table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #ddd; }
  dt { font-weight: 600; float: left; width: 8rem; } dd { margin: 0 0 .25rem 8rem; }
  .ok { color: #17702a; } .failing { color: #b00020; } .unknown { color: #666; }
  #message { color: #b00020; } small { color: #666; }
</style>
</head>
<body>
<h1>Herald status</h1>
<p id="message"></p>
<form id="login" hidden>
  <label>API key <input id="key" type="password" autocomplete="off" required></label>
  <label><input id="remember" type="checkbox"> remember on this device</label>
  <button>Show status</button>
</form>
<div id="status" hidden>
  <dl>
    <dt>Version</dt><dd id="version"></dd>
    <dt>Uptime</dt><dd id="uptime"></dd>
    <dt>Model</dt><dd id="model"></dd>
    <dt>Upstream</dt><dd id="upstream"></dd>
    <dt>Today</dt><dd id="today"></dd>
    <dt>Store</dt><dd id="store"></dd>
  </dl>
  <h2>Platforms</h2>
  <table id="platforms"><tr><th>Platform</th><th>State</th><th>Failed starts</th><th>Last error</th></tr></table>
  <h2>Runs</h2>
  <table id="runs"><tr><th>Platform</th><th>In flight</th><th>Queued</th></tr></table>
  <h2>Recent errors</h2>
  <table id="errors"><tr><th>At</th><th>Code</th><th>Status</th><th>Route / platform</th><th>Request id</th></tr></table>
  <p><small>Updated <span id="updated"></span> · <button id="forget" type="button">Forget key</button></small></p>
</div>
<script>${SCRIPT}</script>
</body>
</html>
`;
