import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EditFailedError, FloodControlError, type InboundMessage } from '../src/gateway/index.ts';
import { renderTelegramHtml, TelegramPlatform } from '../src/gateway/platforms/telegram/index.ts';
import { silentLogger } from '../src/logger.ts';
import { FakeTelegramApi } from './support/fake-telegram-api.ts';
import { unusedLoopbackPort } from './support/loopback-server.ts';

const privateTarget = { chatId: '42', inboundMessageId: '7', userId: '42', isPrivate: true };
const groupTarget = { chatId: '-100', inboundMessageId: '8', userId: '42', isPrivate: false };

describe('TelegramPlatform with real grammY against the fake Bot API', () => {
  let api: FakeTelegramApi;
  let platform: TelegramPlatform;
  const received: InboundMessage[] = [];

  before(async () => {
    api = await FakeTelegramApi.start();
    platform = new TelegramPlatform({
      token: api.token,
      apiRoot: api.apiRoot,
      replyToMode: 'first',
      nativeDrafts: true,
      logger: silentLogger(),
      pollingTimeoutSeconds: 1,
    });
    platform.onMessage((message) => received.push(message));
    await platform.start();
  });

  after(async () => {
    await platform.stop();
    await api.close();
  });

  async function nextMessage(count: number): Promise<InboundMessage> {
    const deadline = Date.now() + 5000;
    while (received.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(received.length >= count, 'message not received');
    return received[count - 1]!;
  }

  it('starts with getMe and deleteWebhook, then long-polls', () => {
    assert.deepEqual(
      api.calls.slice(0, 2).map((call) => call.method),
      ['getMe', 'deleteWebhook'],
    );
  });

  it('normalises a private text message', async () => {
    const messageId = api.sendText({ chatId: 42, userId: 42, text: 'hello there', userName: 'ann' });
    const message = await nextMessage(1);
    assert.deepEqual(message, {
      platform: 'telegram',
      chatId: '42',
      userId: '42',
      userName: 'ann',
      messageId: String(messageId),
      text: 'hello there',
      isPrivate: true,
      addressedToBot: true,
    });
  });

  it('marks group messages addressed only by mention, reply to the bot or a command for this bot', async () => {
    api.sendText({ chatId: -100, userId: 5, text: 'just chatting', chatType: 'supergroup' });
    api.sendText({
      chatId: -100,
      userId: 5,
      text: '@herald_test_bot what time is it?',
      chatType: 'supergroup',
    });
    const sent = await platform.send(groupTarget, 'an earlier answer');
    api.sendText({
      chatId: -100,
      userId: 5,
      text: 'and tomorrow?',
      chatType: 'supergroup',
      replyToMessageId: Number(sent.id),
    });
    api.sendText({ chatId: -100, userId: 5, text: '/status@herald_test_bot', chatType: 'supergroup' });
    api.sendText({ chatId: -100, userId: 5, text: '/status@other_bot', chatType: 'supergroup' });
    api.sendText({ chatId: -100, userId: 5, text: 'done', chatType: 'supergroup', messageThreadId: 77 });
    const last = await nextMessage(6);
    const group = received.slice(1);
    assert.deepEqual(
      group.map((m) => [m.text, m.addressedToBot]),
      [
        ['just chatting', false],
        ['what time is it?', true],
        ['and tomorrow?', true],
        ['/status', true],
        ['done', false],
      ],
    );
    assert.equal(last.threadId, '77');
    assert.equal(group[0]!.isPrivate, false);
  });

  it('sends Markdown as Telegram HTML and threads only when asked (reply_to_mode first)', async () => {
    await platform.send(privateTarget, '**Bold** and `a<b>`', { replyToInbound: true });
    await platform.send(privateTarget, 'second', { replyToInbound: false });
    const [first, second] = api.callsOf('sendMessage').slice(-2);
    assert.equal(first!.params.text, '<b>Bold</b> and <code>a&lt;b&gt;</code>');
    assert.equal(first!.params.parse_mode, 'HTML');
    assert.deepEqual(first!.params.reply_parameters, { message_id: 7, allow_sending_without_reply: true });
    assert.equal(second!.params.reply_parameters, undefined);
  });

  it('retries as plain text when Telegram rejects the entities', async () => {
    api.failNext('sendMessage', {
      error_code: 400,
      description: "Bad Request: can't parse entities: bad tag",
    });
    await platform.send(privateTarget, '**x**');
    const [html, plain] = api.callsOf('sendMessage').slice(-2);
    assert.equal(html!.params.parse_mode, 'HTML');
    assert.equal(plain!.params.parse_mode, undefined);
    assert.equal(plain!.params.text, '**x**');
  });

  it('maps edit failures: not modified ignored, 429 to FloodControlError, not found to EditFailedError', async () => {
    const sent = await platform.send(privateTarget, 'same');
    await platform.edit(privateTarget, sent, 'same');
    api.failNext('editMessageText', {
      error_code: 429,
      description: 'Too Many Requests: retry after 7',
      parameters: { retry_after: 7 },
    });
    await assert.rejects(platform.edit(privateTarget, sent, 'new'), (error: unknown) => {
      assert.ok(error instanceof FloodControlError);
      assert.equal(error.retryAfterMs, 7000);
      return true;
    });
    api.failNext('editMessageText', {
      error_code: 400,
      description: 'Bad Request: message to edit not found',
    });
    await assert.rejects(platform.edit(privateTarget, sent, 'newer'), EditFailedError);
    api.failNext('editMessageText', { error_code: 400, description: "Bad Request: message can't be edited" });
    await assert.rejects(platform.edit(privateTarget, sent, 'newest'), EditFailedError);
  });

  it('streams private replies as drafts finished with sendMessage; groups get no native stream', async () => {
    assert.equal(platform.openNativeStream(groupTarget), undefined);
    const stream = platform.openNativeStream(privateTarget);
    assert.ok(stream);
    await stream.update('Hel');
    await stream.update('Hello wor');
    const before = api.callsOf('sendMessage').length;
    await stream.finish('Hello world');
    const drafts = api.callsOf('sendMessageDraft').slice(-2);
    assert.deepEqual(
      drafts.map((call) => call.params.text),
      ['Hel', 'Hello wor'],
    );
    assert.equal(drafts[0]!.params.draft_id, drafts[1]!.params.draft_id);
    const sends = api.callsOf('sendMessage').slice(before);
    assert.deepEqual(
      sends.map((call) => call.params.text),
      ['Hello world'],
    );
  });

  it('sends typing and deletes messages', async () => {
    await platform.sendTyping(privateTarget);
    assert.deepEqual(api.callsOf('sendChatAction').at(-1)!.params, { chat_id: 42, action: 'typing' });
    const sent = await platform.send(privateTarget, 'to delete');
    await platform.delete(privateTarget, sent);
    assert.ok(!api.messages(42).some((m) => m.messageId === Number(sent.id)));
  });
});

describe('TelegramPlatform with an unreachable Bot API', () => {
  it('keeps retrying start() until stop() aborts it, which ends start() promptly', async () => {
    // A loopback port with nothing listening: every getMe is refused and grammY retries it.
    const port = await unusedLoopbackPort();
    const platform = new TelegramPlatform({
      token: '1:unreachable',
      apiRoot: `http://127.0.0.1:${port}`,
      replyToMode: 'first',
      nativeDrafts: true,
      logger: silentLogger(),
    });
    let settled = false;
    const starting = platform.start().then(
      () => 'started',
      () => 'aborted',
    );
    void starting.then(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(settled, false, 'start() must still be retrying while the API is down');
    await platform.stop();
    const outcome = await Promise.race([
      starting,
      new Promise((resolve) => setTimeout(() => resolve('still pending'), 5_000)),
    ]);
    assert.equal(outcome, 'aborted');
  });
});

describe('TelegramPlatform in webhook mode', () => {
  it('sets the webhook and accepts updates carrying the secret token only', async (t) => {
    const api = await FakeTelegramApi.start();
    t.after(() => api.close());
    const port = await unusedLoopbackPort();
    const platform = new TelegramPlatform({
      token: api.token,
      apiRoot: api.apiRoot,
      replyToMode: 'first',
      nativeDrafts: false,
      webhook: { url: 'https://bot.example.test/hook', port, secret: 's3cret', host: '127.0.0.1' },
      logger: silentLogger(),
    });
    const received: InboundMessage[] = [];
    platform.onMessage((message) => received.push(message));
    await platform.start();
    t.after(() => platform.stop());
    assert.deepEqual(api.callsOf('setWebhook')[0]!.params, {
      url: 'https://bot.example.test/hook',
      allowed_updates: ['message', 'callback_query'],
      secret_token: 's3cret',
    });
    const update = {
      update_id: 1,
      message: {
        message_id: 5,
        date: 0,
        chat: { id: 42, type: 'private', first_name: 'A' },
        from: { id: 42, is_bot: false, first_name: 'A' },
        text: 'via webhook',
      },
    };
    const post = (secret: string) =>
      fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
        body: JSON.stringify(update),
      });
    assert.equal((await post('wrong')).status, 401);
    assert.equal(received.length, 0);
    assert.equal((await post('s3cret')).status, 200);
    assert.equal(received[0]?.text, 'via webhook');
  });
});

describe('renderTelegramHtml', () => {
  it('escapes HTML and renders bold, italic, code, pre and links', () => {
    assert.equal(
      renderTelegramHtml('**b** _i_ snake_case `x<y` [site](https://e.com/a_b?x=1&y=2) 1 < 2 & 3'),
      '<b>b</b> <i>i</i> snake_case <code>x&lt;y</code> <a href="https://e.com/a_b?x=1&amp;y=2">site</a> 1 &lt; 2 &amp; 3',
    );
    assert.equal(
      renderTelegramHtml('Run:\n```bash\necho "<hi>" **not bold**\n```\nok'),
      'Run:\n<pre><code class="language-bash">echo "&lt;hi&gt;" **not bold**</code></pre>\nok',
    );
  });

  it('closes an unterminated fence while a reply is still streaming', () => {
    assert.equal(renderTelegramHtml('```py\nx = 1'), '<pre><code class="language-py">x = 1</code></pre>');
  });
});
