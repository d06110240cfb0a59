/**
 * The web chat's only door to the server: the ordinary, authenticated Herald API (`/v1/models`,
 * `/v1/conversations`, `/v1/responses`), called with the key the user typed, which lives in this
 * browser's storage only (sessionStorage, or localStorage when asked to remember it). Streams of
 * `POST /v1/responses` are parsed here into their JSON events. It renders nothing.
 */

const KEY = 'herald.web.key';

/** The server refused the request for want of a (right) key: the page shows the key prompt. */
export class AuthError extends Error {}

/** @returns {string} */
export function storedKey() {
  return sessionStorage.getItem(KEY) || localStorage.getItem(KEY) || '';
}

/** @param {string} key @param {boolean} remember */
export function saveKey(key, remember) {
  forgetKey();
  (remember ? localStorage : sessionStorage).setItem(KEY, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
}

/** @param {Response} response */
async function errorMessage(response) {
  const body = await response.json().catch(() => undefined);
  return body?.error?.message ?? `HTTP ${response.status}`;
}

/**
 * @param {string} path relative to the page, e.g. `v1/models`
 * @param {{ method?: string, body?: unknown, signal?: AbortSignal }} [options]
 */
async function call(path, options = {}) {
  /** @type {Record<string, string>} */
  const headers = {};
  const key = storedKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method: options.method ?? 'GET',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
    cache: 'no-store',
  });
  if (response.status === 401) throw new AuthError(await errorMessage(response));
  if (!response.ok) throw new Error(await errorMessage(response));
  return response;
}

/** @returns {Promise<string[]>} the model (profile) ids the server offers */
export async function listModels() {
  const body = await (await call('v1/models')).json();
  return body.data.map((/** @type {{ id: string }} */ model) => model.id);
}

export async function listConversations() {
  return (await (await call('v1/conversations?limit=100')).json()).data;
}

/** @param {string} title */
export async function createConversation(title) {
  return (await call('v1/conversations', { method: 'POST', body: { metadata: { title } } })).json();
}

/** @param {string} id @param {Record<string, string>} metadata */
export async function updateConversation(id, metadata) {
  return (await call(`v1/conversations/${id}`, { method: 'POST', body: { metadata } })).json();
}

/** @param {string} id */
export async function deleteConversation(id) {
  await call(`v1/conversations/${id}`, { method: 'DELETE' });
}

/** Every item of a conversation, oldest first (paged 100 at a time). @param {string} id */
export async function conversationItems(id) {
  const items = [];
  let after = '';
  for (;;) {
    const page = await (
      await call(`v1/conversations/${id}/items?order=asc&limit=100${after ? `&after=${after}` : ''}`)
    ).json();
    items.push(...page.data);
    if (!page.has_more || !page.last_id) return items;
    after = page.last_id;
  }
}

/** @param {string} id */
export async function cancelResponse(id) {
  await call(`v1/responses/${id}/cancel`, { method: 'POST', body: {} });
}

/**
 * Runs a streamed turn and hands each SSE event (parsed JSON) to `onEvent` as it arrives. Resolves
 * when the stream ends; rejects with an AbortError when `signal` aborts (which also cancels the run:
 * the server stops a response whose client went away).
 * @param {Record<string, unknown>} request the `POST /v1/responses` body, without `stream`
 * @param {AbortSignal} signal
 * @param {(event: any) => void} onEvent
 */
export async function streamResponse(request, signal, onEvent) {
  const response = await call('v1/responses', { method: 'POST', body: { ...request, stream: true }, signal });
  if (!response.body) throw new Error('The server sent no stream.');
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = frame
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('\n');
      if (data && data !== '[DONE]') onEvent(JSON.parse(data));
      end = buffer.indexOf('\n\n');
    }
  }
}
