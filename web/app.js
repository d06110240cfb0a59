/**
 * The Herald web chat: a Preact app (htm templates, no build step) over the Responses and Conversations
 * APIs. It asks for the API key when the server wants one, lists the caller's conversations (rename,
 * delete, reopen — the open one is in the URL's #fragment, so a reload resumes it), streams each turn
 * with the agent's tool calls as collapsible lines, stops a run (Stop or Esc), sends pasted or chosen
 * images as data: URLs and picks the profile from `/v1/models`. It keeps no data of its own beyond the
 * key and the chosen model in browser storage.
 */
import htm from 'htm';
import { h, render } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import * as api from './api.js';
import { decorateCode, renderMarkdown } from './markdown.js';

const html = htm.bind(h);
const MODEL_KEY = 'herald.web.model';

/**
 * @typedef {{ kind: 'user', id: string, text: string, images: string[] }} UserEntry
 * @typedef {{ kind: 'assistant', id: string, text: string }} AssistantEntry
 * @typedef {{ kind: 'tool', id: string, name: string, arguments: string, output: string | null, status: string }} ToolEntry
 * @typedef {{ kind: 'notice', id: string, text: string, error?: boolean }} NoticeEntry
 * @typedef {UserEntry | AssistantEntry | ToolEntry | NoticeEntry} Entry
 */

let localIds = 0;
const localId = () => `local_${++localIds}`;

/** @param {any} conversation */
const titleOf = (conversation) => conversation.metadata?.title || 'Untitled chat';

/** A new chat's title: its first words, as the sidebar shows them. @param {string} text */
const titleFrom = (text) => {
  const line = text.trim().split('\n')[0] ?? '';
  return (line.length > 60 ? `${line.slice(0, 57)}…` : line) || 'Image';
};

/** Conversation items (stored) → what the log shows. @param {any[]} items @returns {Entry[]} */
function entriesOf(items) {
  /** @type {Entry[]} */
  const entries = [];
  for (const item of items) {
    if (item.type === 'mcp_call') {
      entries.push({
        kind: 'tool',
        id: item.id,
        name: item.name,
        arguments: item.arguments ?? '',
        output: item.output ?? null,
        status: item.status ?? 'completed',
      });
    } else if (item.type === 'message') {
      const parts =
        typeof item.content === 'string' ? [{ type: 'input_text', text: item.content }] : item.content;
      const text = parts
        .filter((/** @type {any} */ p) => p.type === 'input_text' || p.type === 'output_text')
        .map((/** @type {any} */ p) => p.text)
        .join('\n');
      if (item.role === 'user') {
        const images = parts
          .filter((/** @type {any} */ p) => p.type === 'input_image')
          .map((/** @type {any} */ p) => p.image_url);
        entries.push({ kind: 'user', id: item.id, text, images });
      } else if (item.role === 'assistant') {
        entries.push({ kind: 'assistant', id: item.id, text });
      }
    }
  }
  return entries;
}

/** @param {{ text: string }} props */
function Markdown({ text }) {
  const ref = useRef(/** @type {HTMLDivElement | null} */ (null));
  useLayoutEffect(() => {
    if (!ref.current) return;
    ref.current.innerHTML = renderMarkdown(text);
    decorateCode(ref.current);
  }, [text]);
  return html`<div class="markdown" ref=${ref}></div>`;
}

/** @param {string} args */
function prettyArguments(args) {
  try {
    return JSON.stringify(JSON.parse(args), null, 2);
  } catch {
    return args;
  }
}

const STATUS_TEXT = /** @type {Record<string, string>} */ ({
  in_progress: 'running…',
  completed: 'done',
  failed: 'failed',
  incomplete: 'stopped',
});

/** @param {{ entry: ToolEntry }} props */
function ToolLine({ entry }) {
  const preview = entry.arguments.replace(/\s+/g, ' ').slice(0, 80);
  return html`<details class=${`tool ${entry.status}`}>
    <summary>
      <span class="tool-name">${entry.name}</span>
      <span class="tool-status">${STATUS_TEXT[entry.status] ?? entry.status}</span>
      <code class="tool-preview">${preview}</code>
    </summary>
    <div class="tool-body">
      <h3>Arguments</h3>
      <pre>${prettyArguments(entry.arguments) || '(none)'}</pre>
      <h3>Output</h3>
      <pre>${entry.output ?? '(not yet)'}</pre>
    </div>
  </details>`;
}

/** @param {{ entry: Entry }} props */
function LogEntry({ entry }) {
  switch (entry.kind) {
    case 'user':
      return html`<article class="message user" aria-label="You">
        ${entry.images.map((src) => html`<img class="attachment" src=${src} alt="Attached image" />`)}
        <p class="user-text">${entry.text}</p>
      </article>`;
    case 'assistant':
      return html`<article class="message assistant" aria-label="Herald"><${Markdown} text=${entry.text} /></article>`;
    case 'tool':
      return html`<${ToolLine} entry=${entry} />`;
    case 'notice':
      return html`<p class=${entry.error ? 'notice error' : 'notice'} role=${entry.error ? 'alert' : 'status'}>${entry.text}</p>`;
  }
}

/** @param {{ onKey: () => void, message: string }} props */
function KeyPrompt({ onKey, message }) {
  const [key, setKey] = useState('');
  const [remember, setRemember] = useState(false);
  return html`<main class="login">
    <form
      onSubmit=${(/** @type {Event} */ event) => {
        event.preventDefault();
        if (!key.trim()) return;
        api.saveKey(key.trim(), remember);
        setKey('');
        onKey();
      }}
    >
      <h1>Herald</h1>
      <p id="login-message" role="alert">${message}</p>
      <label for="api-key">API key</label>
      <input id="api-key" type="password" autocomplete="current-password" value=${key} autofocus
        aria-describedby="login-message" onInput=${(/** @type {any} */ e) => setKey(e.currentTarget.value)} />
      <label class="check"><input type="checkbox" checked=${remember}
        onChange=${(/** @type {any} */ e) => setRemember(e.currentTarget.checked)} /> Remember on this device</label>
      <button type="submit">Unlock</button>
      <p class="hint">The key stays in this browser's storage and is sent only to this server.</p>
    </form>
  </main>`;
}

/**
 * @param {{ conversations: any[], current: string | null, onOpen: (id: string | null) => void,
 *   onRename: (id: string, title: string) => void, onDelete: (id: string) => void, open: boolean }} props
 */
function Sidebar({ conversations, current, onOpen, onRename, onDelete, open }) {
  const [editing, setEditing] = useState(/** @type {string | null} */ (null));
  return html`<aside id="sidebar" class=${open ? 'sidebar open' : 'sidebar'} aria-label="Conversations">
    <button type="button" class="new-chat" onClick=${() => onOpen(null)}>+ New chat</button>
    <ul>
      ${conversations.map(
        (c) => html`<li key=${c.id} class=${c.id === current ? 'current' : ''}>
          ${
            editing === c.id
              ? html`<input class="rename" aria-label="New title" value=${titleOf(c)} autofocus
                onKeyDown=${(/** @type {KeyboardEvent & { currentTarget: HTMLInputElement }} */ e) => {
                  if (e.key === 'Enter') {
                    const title = e.currentTarget.value.trim();
                    if (title) onRename(c.id, title);
                    setEditing(null);
                  } else if (e.key === 'Escape') {
                    e.stopPropagation();
                    setEditing(null);
                  }
                }}
                onBlur=${() => setEditing(null)} />`
              : html`<button type="button" class="open" aria-current=${c.id === current ? 'page' : undefined}
                onClick=${() => onOpen(c.id)}>${titleOf(c)}</button>`
          }
          <button type="button" class="icon" aria-label=${`Rename ${titleOf(c)}`} title="Rename"
            onClick=${() => setEditing(c.id)}>✎</button>
          <button type="button" class="icon" aria-label=${`Delete ${titleOf(c)}`} title="Delete"
            onClick=${() => {
              if (confirm(`Delete “${titleOf(c)}”?`)) onDelete(c.id);
            }}>✕</button>
        </li>`,
      )}
    </ul>
  </aside>`;
}

/** @param {File} file @returns {Promise<string>} */
const dataUrlOf = (file) =>
  new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });

function App() {
  const [auth, setAuth] = useState(/** @type {'checking' | 'needed' | 'ok'} */ ('checking'));
  const [authMessage, setAuthMessage] = useState('');
  const [models, setModels] = useState(/** @type {string[]} */ ([]));
  const [model, setModel] = useState(localStorage.getItem(MODEL_KEY) ?? '');
  const [conversations, setConversations] = useState(/** @type {any[]} */ ([]));
  const [current, setCurrent] = useState(/** @type {string | null} */ (null));
  const [entries, setEntries] = useState(/** @type {Entry[]} */ ([]));
  const [draft, setDraft] = useState('');
  const [images, setImages] = useState(/** @type {string[]} */ ([]));
  const [running, setRunning] = useState(
    /** @type {{ controller: AbortController, responseId: string | null, stopped: boolean } | null} */ (null),
  );
  const [sidebarOpen, setSidebarOpen] = useState(false);
  const runningRef = useRef(running);
  runningRef.current = running;
  const logRef = useRef(/** @type {HTMLElement | null} */ (null));
  const promptRef = useRef(/** @type {HTMLTextAreaElement | null} */ (null));

  /** Any call may find the key missing or revoked: back to the prompt, saying so. @param {unknown} error */
  const failed = (error) => {
    if (error instanceof api.AuthError) {
      setAuthMessage(api.storedKey() ? 'That key was refused.' : 'This server needs its API key.');
      setAuth('needed');
      return;
    }
    setEntries((list) => [
      ...list,
      {
        kind: 'notice',
        id: localId(),
        text: String(/** @type {Error} */ (error).message ?? error),
        error: true,
      },
    ]);
  };

  /** @param {string | null} id */
  const openConversation = async (id) => {
    setSidebarOpen(false);
    setCurrent(id);
    history.replaceState(null, '', id ? `#${id}` : location.pathname);
    setEntries([]);
    if (id) {
      try {
        setEntries(entriesOf(await api.conversationItems(id)));
      } catch (error) {
        failed(error);
      }
    }
    promptRef.current?.focus();
  };

  const start = async () => {
    try {
      const ids = await api.listModels();
      setModels(ids);
      setModel((chosen) => (ids.includes(chosen) ? chosen : (ids[0] ?? '')));
      setConversations(await api.listConversations());
      setAuth('ok');
      const fromUrl = location.hash.slice(1);
      if (fromUrl) await openConversation(fromUrl);
    } catch (error) {
      failed(error);
    }
  };

  useEffect(() => {
    void start();
  }, []);

  useEffect(() => {
    if (model) localStorage.setItem(MODEL_KEY, model);
  }, [model]);

  // Follow the stream while the reader is at the bottom; leave them be when they scrolled up.
  useLayoutEffect(() => {
    const log = logRef.current;
    if (log && log.scrollHeight - log.scrollTop - log.clientHeight < 120) log.scrollTop = log.scrollHeight;
  }, [entries]);

  const stop = async () => {
    const run = runningRef.current;
    if (!run || run.stopped) return;
    run.stopped = true;
    // Cancel first so the run is stored `cancelled` before the connection goes; the abort alone does that too.
    if (run.responseId) await api.cancelResponse(run.responseId).catch(() => undefined);
    run.controller.abort();
  };

  useEffect(() => {
    /** @param {KeyboardEvent} event */
    const onKey = (event) => {
      if (event.key === 'Escape' && runningRef.current) {
        event.preventDefault();
        void stop();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  /** @param {string} id @param {(entry: any) => any} change */
  const updateEntry = (id, change) =>
    setEntries((list) => list.map((entry) => (entry.id === id ? { ...entry, ...change(entry) } : entry)));

  /** One Responses stream event → the log. @param {any} event @param {{ responseId: string | null }} run */
  const onEvent = (event, run) => {
    switch (event.type) {
      case 'response.created':
        run.responseId = event.response.id;
        break;
      case 'response.output_item.added':
        if (event.item.type === 'mcp_call') {
          const item = event.item;
          setEntries((list) => [
            ...list,
            {
              kind: 'tool',
              id: item.id,
              name: item.name,
              arguments: item.arguments ?? '',
              output: null,
              status: 'in_progress',
            },
          ]);
        } else if (event.item.type === 'message') {
          setEntries((list) => [...list, { kind: 'assistant', id: event.item.id, text: '' }]);
        }
        break;
      case 'response.mcp_call_arguments.delta':
        updateEntry(event.item_id, (entry) => ({ arguments: entry.arguments + event.delta }));
        break;
      case 'response.output_text.delta':
        updateEntry(event.item_id, (entry) => ({ text: entry.text + event.delta }));
        break;
      case 'response.output_item.done':
        if (event.item.type === 'mcp_call') {
          const { arguments: args, output, status } = event.item;
          updateEntry(event.item.id, () => ({ arguments: args, output, status }));
        }
        break;
      case 'response.failed':
        failed(new Error(event.response?.error?.message ?? 'The run failed.'));
        break;
      case 'response.incomplete':
        if (event.response?.status === 'cancelled') break;
        setEntries((list) => [...list, { kind: 'notice', id: localId(), text: 'The answer was cut short.' }]);
        break;
    }
  };

  const send = async () => {
    const text = draft.trim();
    if ((!text && images.length === 0) || runningRef.current) return;
    const controller = new AbortController();
    const run = { controller, responseId: /** @type {string | null} */ (null), stopped: false };
    setRunning(run);
    runningRef.current = run;
    const attached = images;
    setDraft('');
    setImages([]);
    setEntries((list) => [...list, { kind: 'user', id: localId(), text, images: attached }]);
    try {
      let conversation = current;
      if (!conversation) {
        const created = await api.createConversation(titleFrom(text));
        conversation = /** @type {string} */ (created.id);
        setConversations((list) => [created, ...list]);
        setCurrent(conversation);
        history.replaceState(null, '', `#${conversation}`);
      }
      const content = [
        ...(text ? [{ type: 'input_text', text }] : []),
        ...attached.map((url) => ({ type: 'input_image', image_url: url })),
      ];
      await api.streamResponse(
        { model: model || undefined, conversation, input: [{ type: 'message', role: 'user', content }] },
        controller.signal,
        (event) => onEvent(event, run),
      );
    } catch (error) {
      // Stopping ends the stream either way: cleanly after the cancel, or by the abort.
      if (!run.stopped) failed(error);
    } finally {
      if (run.stopped) setEntries((list) => [...list, { kind: 'notice', id: localId(), text: 'Stopped.' }]);
      // Tool lines still running when the stream ended will not finish now.
      setEntries((list) =>
        list.map((e) =>
          e.kind === 'tool' && e.status === 'in_progress' ? { ...e, status: 'incomplete' } : e,
        ),
      );
      runningRef.current = null;
      setRunning(null);
      promptRef.current?.focus();
    }
  };

  /** @param {FileList | File[]} files */
  const attach = async (files) => {
    const urls = await Promise.all([...files].filter((f) => f.type.startsWith('image/')).map(dataUrlOf));
    setImages((list) => [...list, ...urls]);
  };

  if (auth === 'checking') return html`<p class="loading">Connecting…</p>`;
  if (auth === 'needed') {
    return html`<${KeyPrompt} message=${authMessage} onKey=${() => {
      setAuth('checking');
      void start();
    }} />`;
  }

  return html`<div class="app">
    <${Sidebar}
      conversations=${conversations}
      current=${current}
      open=${sidebarOpen}
      onOpen=${openConversation}
      onRename=${async (/** @type {string} */ id, /** @type {string} */ title) => {
        try {
          const updated = await api.updateConversation(id, {
            ...conversations.find((c) => c.id === id)?.metadata,
            title,
          });
          setConversations((list) => list.map((c) => (c.id === id ? updated : c)));
        } catch (error) {
          failed(error);
        }
      }}
      onDelete=${async (/** @type {string} */ id) => {
        try {
          await api.deleteConversation(id);
          setConversations((list) => list.filter((c) => c.id !== id));
          if (id === current) await openConversation(null);
        } catch (error) {
          failed(error);
        }
      }}
    />
    <main class="chat">
      <header>
        <button type="button" class="icon menu" aria-label="Conversations" aria-controls="sidebar"
          aria-expanded=${sidebarOpen ? 'true' : 'false'} onClick=${() => setSidebarOpen(!sidebarOpen)}>☰</button>
        <h1>Herald</h1>
        <label class="model">
          <span>Model</span>
          <select value=${model} onChange=${(/** @type {any} */ e) => setModel(e.currentTarget.value)}>
            ${models.map((id) => html`<option value=${id}>${id}</option>`)}
          </select>
        </label>
        ${
          api.storedKey() &&
          html`<button type="button" class="link" onClick=${() => {
            api.forgetKey();
            setAuthMessage('Key forgotten.');
            setAuth('needed');
          }}>Forget key</button>`
        }
      </header>
      <section class="log" ref=${logRef} role="log" aria-live="polite" aria-label="Conversation">
        ${entries.length === 0 && html`<p class="empty">Ask Herald anything. Enter sends, Shift+Enter adds a line, Esc stops.</p>`}
        ${entries.map((entry) => html`<${LogEntry} key=${entry.id} entry=${entry} />`)}
      </section>
      <form class="composer" onSubmit=${(/** @type {Event} */ e) => {
        e.preventDefault();
        void send();
      }}>
        ${
          images.length > 0 &&
          html`<div class="previews">
          ${images.map(
            (src, i) => html`<span class="preview"><img src=${src} alt=${`Image ${i + 1} to send`} />
              <button type="button" class="icon" aria-label=${`Remove image ${i + 1}`}
                onClick=${() => setImages((list) => list.filter((_, j) => j !== i))}>✕</button></span>`,
          )}
        </div>`
        }
        <div class="row">
          <label class="attach icon" title="Attach images">
            <span class="visually-hidden">Attach images</span>
            <svg aria-hidden="true" viewBox="0 0 24 24" width="22" height="22" fill="none" stroke="currentColor"
              stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
              <path d="m21.4 11.1-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5" />
            </svg>
            <input type="file" accept="image/*" multiple
              onChange=${(/** @type {any} */ e) => {
                void attach(e.currentTarget.files);
                e.currentTarget.value = '';
              }} />
          </label>
          <label for="prompt" class="visually-hidden">Message</label>
          <textarea
            id="prompt"
            ref=${promptRef}
            rows=${Math.min(8, draft.split('\n').length)}
            placeholder="Message Herald"
            value=${draft}
            onInput=${(/** @type {any} */ e) => setDraft(e.currentTarget.value)}
            onKeyDown=${(/** @type {KeyboardEvent} */ e) => {
              if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
                e.preventDefault();
                void send();
              }
            }}
            onPaste=${(/** @type {ClipboardEvent} */ e) => {
              const files = [...(e.clipboardData?.files ?? [])];
              if (files.length > 0) {
                e.preventDefault();
                void attach(files);
              }
            }}
          ></textarea>
          ${
            running
              ? html`<button type="button" class="stop" onClick=${() => void stop()}>Stop</button>`
              : html`<button type="submit" class="send">Send</button>`
          }
        </div>
      </form>
    </main>
  </div>`;
}

render(html`<${App} />`, /** @type {HTMLElement} */ (document.getElementById('root')));
