/**
 * The web chat in a real headless Chromium (Debian's, driven by playwright-core) against real Herald
 * servers and a scripted upstream: a streamed answer with a live tool line, Stop mid-stream, resuming
 * after a reload, the key prompt of a keyed server, and no console errors throughout. One browser for
 * the file. With HERALD_SCREENSHOTS=1 it also writes the screenshots docs/web.md shows.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { startTestServer, type TestServer } from './api-test-server.ts';
import { ensureChromium } from './support/ensure-chromium.ts';

const browser = ensureChromium();
/** A 1×1 PNG. */
const PNG_DOT = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const HANG_GUARD = { timeout: 15_000 };
const textOf = async (locator: Locator): Promise<string> => (await locator.textContent()) ?? '';

describe('web chat in Chromium', { skip: 'skip' in browser ? browser.skip : false }, () => {
  let context: BrowserContext;
  let profile: string;
  const servers: TestServer[] = [];

  before(async () => {
    if (!('path' in browser)) return;
    profile = mkdtempSync(join(tmpdir(), 'herald-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: browser.path,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 800 },
    });
  });

  after(async () => {
    await context?.close();
    for (const server of servers) await server.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** A page that records every console error and uncaught exception. */
  async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(url);
    return { page, errors };
  }

  async function send(page: Page, text: string): Promise<void> {
    await page.getByLabel('Message').fill(text);
    await page.getByLabel('Message').press('Enter');
  }

  test('streams an answer with a live tool line, stops a run, and resumes after a reload', async () => {
    const ts = await startTestServer();
    servers.push(ts);
    mkdirSync(join(ts.config.home, 'workspace'), { recursive: true });
    writeFileSync(join(ts.config.home, 'workspace', 'notes.txt'), 'buy milk');
    ts.upstream.enqueue(
      { toolCalls: [{ id: 'call_read', name: 'read_file', arguments: { path: 'notes.txt' } }], delayMs: 300 },
      {
        text: 'Your notes say **buy milk**. As code:\n\n```python\nprint("buy milk")\n```\n',
        chunkDelayMs: 40,
      },
    );
    const { page, errors } = await openPage(`${ts.url}/`);

    await send(page, 'What do my notes say?');
    // The tool line shows while the run goes on, then the answer streams in beside it.
    const tool = page.locator('details.tool');
    await tool.waitFor(HANG_GUARD);
    assert.match(await textOf(tool.locator('summary')), /read_file/);
    const answer = page.locator('article.assistant');
    await answer.waitFor(HANG_GUARD);
    await page.getByRole('button', { name: 'Stop' }).waitFor(HANG_GUARD);
    await page.getByRole('button', { name: 'Send' }).waitFor(HANG_GUARD);
    assert.match(await textOf(answer), /Your notes say buy milk/);
    assert.equal(await textOf(answer.locator('strong')), 'buy milk');
    assert.equal(await textOf(answer.locator('pre code.hljs .hljs-built_in').first()), 'print');
    await answer.getByRole('button', { name: /Copy/ }).waitFor(HANG_GUARD);
    await tool.locator('summary').click();
    await tool.locator('.tool-body').waitFor(HANG_GUARD);
    assert.match(await textOf(tool), /"path": "notes.txt"/);
    assert.match(await textOf(tool), /buy milk/);
    assert.match(await textOf(tool.locator('.tool-status')), /done/);

    // Stop mid-stream: the run is cancelled on the server, with what it had said so far.
    ts.upstream.enqueue({ text: 'word '.repeat(400), chunkDelayMs: 30 });
    const cancel = page.waitForRequest((r) => /\/v1\/responses\/[^/]+\/cancel$/.test(r.url()), HANG_GUARD);
    await send(page, 'Tell me a long story');
    await page.locator('article.assistant').nth(1).getByText('word').first().waitFor(HANG_GUARD);
    await page.getByLabel('Message').press('Escape');
    const responseId = /responses\/([^/]+)\/cancel/.exec((await cancel).url())![1]!;
    await page.getByText('Stopped.').waitFor(HANG_GUARD);
    const stored = await ts.client.responses.retrieve(responseId);
    assert.equal(stored.status, 'cancelled');

    // A reload resumes the open conversation; a fresh visit lists it.
    await page.reload();
    await page.locator('article.user').first().waitFor(HANG_GUARD);
    assert.match(await textOf(page.locator('article.assistant').first()), /buy milk/);
    assert.match(await textOf(page.locator('details.tool summary')), /read_file/);
    await page.goto(`${ts.url}/`);
    await page.getByRole('button', { name: 'What do my notes say?', exact: true }).click();
    await page.locator('article.user').first().waitFor(HANG_GUARD);

    if (process.env['HERALD_SCREENSHOTS'] === '1') await screenshots(page);

    // Rename and delete from the sidebar, both kept by the server.
    await page.getByRole('button', { name: 'Rename What do my notes say?' }).click();
    await page.getByLabel('New title').fill('Groceries');
    await page.getByLabel('New title').press('Enter');
    await page.getByRole('button', { name: 'Groceries', exact: true }).waitFor(HANG_GUARD);
    const listed = (await ts.client.get('/conversations')) as {
      data: { id: string; metadata: { title: string } }[];
    };
    assert.equal(listed.data[0]?.metadata.title, 'Groceries');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete Groceries' }).click();
    await page
      .getByRole('button', { name: 'Groceries', exact: true })
      .waitFor({ state: 'detached', ...HANG_GUARD });
    await assert.rejects(ts.client.conversations.retrieve(listed.data[0]!.id), { status: 404 });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a keyed server asks for the key: a wrong one is refused, the right one chats', async () => {
    const ts = await startTestServer({ apiServer: { keys: ['sk-right'] } });
    servers.push(ts);
    ts.upstream.enqueue({ text: 'Hello from behind the key.' });
    const { page, errors } = await openPage(`${ts.url}/`);

    const keyField = page.getByLabel('API key');
    await keyField.waitFor(HANG_GUARD);
    assert.match(await textOf(page.getByRole('alert')), /needs its API key/);
    await keyField.fill('sk-wrong');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByText('That key was refused.').waitFor(HANG_GUARD);
    await page.getByLabel('API key').fill('sk-right');
    await page.getByRole('button', { name: 'Unlock' }).click();
    // An attached image travels as an input_image data: URL.
    await page
      .getByLabel('Attach images')
      .setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: PNG_DOT });
    await page.getByRole('img', { name: 'Image 1 to send' }).waitFor(HANG_GUARD);
    await send(page, 'hi');
    await page.getByText('Hello from behind the key.').waitFor(HANG_GUARD);
    const upstreamBody = JSON.stringify(ts.upstream.requests.at(-1)?.body);
    assert.ok(upstreamBody.includes(`data:image/png;base64,${PNG_DOT.toString('base64')}`), upstreamBody);
    await page.getByRole('img', { name: 'Attached image' }).waitFor(HANG_GUARD);

    // The 401s of the wrong key are the only console errors (Chromium logs failed fetches).
    assert.ok(
      errors.every((text) => /401/.test(text)),
      errors.join('\n'),
    );
    await page.close();
  });
});

/** The four screenshots of docs/web.md: light and dark, desktop and phone. */
async function screenshots(page: Page): Promise<void> {
  const dir = new URL('../docs/images/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  await page.locator('details.tool').first().locator('summary').click();
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [name, size] of [
      ['desktop', { width: 1280, height: 800 }],
      ['phone', { width: 390, height: 844 }],
    ] as const) {
      await page.setViewportSize(size);
      await page.screenshot({ path: new URL(`web-chat-${scheme}-${name}.png`, dir).pathname });
    }
  }
}
