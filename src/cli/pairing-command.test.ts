import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { configSchema } from '../config/index.ts';
import { openDatabase, SqlitePairingStore } from '../store/index.ts';
import { runPairing } from './pairing-command.ts';

test('herald pairing lists pending codes, approves one and refuses an unknown one', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'herald-pairing-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const config = { ...configSchema.parse({}), home };
  const db = openDatabase(join(home, 'herald.db'));
  const store = new SqlitePairingStore(db);
  const { request } = await store.request('telegram', '99', 'eve');
  const run = async (action: 'list' | 'approve' | 'deny', code?: string) => {
    const output = new PassThrough();
    let text = '';
    output.on('data', (chunk) => {
      text += String(chunk);
    });
    await runPairing(config, { action, ...(code ? { code } : {}), output });
    return text;
  };
  assert.match(
    await run('list'),
    new RegExp(`^${request.code}  telegram  99 \\(@eve\\)  expires in 60 min\\n$`),
  );
  assert.match(await run('approve', request.code.toLowerCase()), /Paired telegram user 99/);
  assert.equal(await store.isPaired('telegram', '99'), true);
  assert.equal(await run('list'), 'No pending pairing codes.\n');
  await assert.rejects(run('deny', 'NOPE22'), { code: 'pairing_code_unknown' });
  db.close();
});
