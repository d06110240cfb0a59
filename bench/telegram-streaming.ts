/**
 * Measures live streaming to Telegram through the real gateway: a 2,000-token answer streamed by the
 * scripted upstream at 50 tokens/s, through the Agent, GatewayRunner and TelegramPlatform (real grammY)
 * to the fake Bot API, with Telegram's default streaming settings (edit interval 1000 ms, first chunk
 * 30 chars). Three runs side by side: edit-based streaming and `sendMessageDraft` drafts in a private
 * chat, and edit-based streaming in a group (where the group edit interval, 3000 ms, applies). Prints
 * time-to-first-visible-text, edits per minute and the messages/edits/drafts used. Not a test; about 45 s.
 *
 *   node bench/telegram-streaming.ts [tokens=2000] [tokensPerSecond=50]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../src/agent/index.ts';
import { configSchema, type HeraldConfig } from '../src/config/index.ts';
import { GatewayRunner } from '../src/gateway/index.ts';
import { TelegramPlatform } from '../src/gateway/platforms/telegram/index.ts';
import { silentLogger } from '../src/logger.ts';
import { createModelClient } from '../src/model/index.ts';
import { openDatabase, SqliteSessionStore } from '../src/store/index.ts';
import { createToolRegistry } from '../src/tools/index.ts';
import { FakeTelegramApi } from '../test/support/fake-telegram-api.ts';
import { ScriptedUpstream } from '../test/support/scripted-upstream.ts';

const tokenCount = Number(process.argv[2] ?? 2000);
const tokensPerSecond = Number(process.argv[3] ?? 50);
const userId = 42;
const warmUpUser = 43;
const groupChatId = -100;

/** About 4.5 characters per token, with a paragraph break every ~80 tokens, like real prose. */
function answerTokens(count: number): string[] {
  const words = ['the', 'gateway', 'streams', 'a', 'reply', 'as', 'it', 'grows', 'edited', 'message'];
  return Array.from({ length: count }, (_, i) => {
    const word = words[(i * 7) % words.length]!;
    return i % 80 === 79 ? `${word}.\n\n` : `${word} `;
  });
}

async function run(label: string, nativeDrafts: boolean, inGroup = false) {
  const home = mkdtempSync(join(tmpdir(), 'herald-bench-'));
  const upstream = await ScriptedUpstream.start();
  const api = await FakeTelegramApi.start();
  const config: HeraldConfig = {
    ...configSchema.parse({
      model: { base_url: upstream.url, api_key: 'bench', model: 'bench-model', max_retries: 0 },
      agent: { workspace: join(home, 'workspace') },
      platforms: {
        telegram: { token: api.token, allowed_users: [userId, warmUpUser], native_drafts: nativeDrafts },
      },
    }),
    home,
  };
  const logger = silentLogger();
  const db = openDatabase(join(home, 'herald.db'));
  const telegram = new TelegramPlatform({
    token: api.token,
    apiRoot: api.apiRoot,
    replyToMode: 'first',
    nativeDrafts,
    logger,
    pollingTimeoutSeconds: 1,
  });
  const agent = new Agent({
    model: createModelClient(config.model, { logger }),
    tools: createToolRegistry(config),
    config,
    logger,
  });
  const gateway = new GatewayRunner({
    config,
    agent,
    sessions: new SqliteSessionStore(db),
    platforms: [telegram],
    logger,
  });
  await gateway.start();
  // Warm up once (module loading, first connections) in another chat, so the figures are steady-state.
  upstream.enqueue({ text: 'ready' });
  api.sendText({ chatId: warmUpUser, userId: warmUpUser, text: 'warm up' });
  await api.waitFor(() => api.messages(warmUpUser).length === 1, 10_000, 'warm-up reply');
  await gateway.idle();
  api.calls.length = 0;

  const tokens = answerTokens(tokenCount);
  upstream.enqueue({ text: tokens, chunkDelayMs: 1000 / tokensPerSecond });
  const sentAt = Date.now();
  const chatId = inGroup ? groupChatId : userId;
  api.sendText(
    inGroup
      ? { chatId, userId, text: `@${api.botInfo.username} write me a long answer.`, chatType: 'supergroup' }
      : { chatId, userId, text: 'Write me a long answer.' },
  );
  await api.waitFor(() => upstream.requests.length === 2, 10_000, 'upstream request');
  const upstreamAt = upstream.requests[1]!.receivedAt;
  await gateway.idle();
  const doneAt = Date.now();

  const visible = api.calls.filter((c) =>
    ['sendMessage', 'editMessageText', 'sendMessageDraft'].includes(c.method),
  );
  const firstVisible = visible[0]!.at;
  const edits = api.callsOf('editMessageText');
  const drafts = api.callsOf('sendMessageDraft');
  const streamMinutes = (doneAt - firstVisible) / 60_000;
  // The busiest minute of updates to the user (edits or drafts), sliding over the run.
  const updates = (nativeDrafts ? drafts : edits).map((c) => c.at);
  let busiestMinute = 0;
  for (let i = 0, j = 0; j < updates.length; j++) {
    while (updates[j]! - updates[i]! >= 60_000) i++;
    busiestMinute = Math.max(busiestMinute, j - i + 1);
  }
  const messages = api.messages(chatId);
  // Telegram trims each message, so compare without the whitespace at the cut points' ends.
  const answer = tokens.join('');
  const result = {
    run: label,
    tokens: tokenCount,
    tokensPerSecond,
    answerChars: answer.length,
    streamSeconds: Number(((doneAt - sentAt) / 1000).toFixed(1)),
    firstVisibleMsFromUserMessage: firstVisible - sentAt,
    firstVisibleMsFromUpstreamRequest: firstVisible - upstreamAt,
    messagesSent: api.callsOf('sendMessage').length,
    edits: edits.length,
    drafts: drafts.length,
    updatesPerMinute: Number(((nativeDrafts ? drafts : edits).length / streamMinutes).toFixed(1)),
    busiestMinuteUpdates: busiestMinute,
    typingActions: api.callsOf('sendChatAction').length,
    finalTextMatches:
      messages
        .map((m) => m.visible)
        .join('')
        .trim() === answer.trim(),
  };
  await gateway.stop();
  db.close();
  await api.close();
  await upstream.close();
  rmSync(home, { recursive: true, force: true });
  return result;
}

const results = await Promise.all([
  run('edits', false),
  run('drafts', true),
  run('edits (group)', false, true),
]);
console.table(results);
