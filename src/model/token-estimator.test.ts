import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { estimateTokens, estimateUsage, prepareTokenEstimator } from './token-estimator.ts';

test('counts tokens with the cl100k tokenizer (built in the background)', async () => {
  prepareTokenEstimator();
  assert.equal(await estimateTokens(''), 0);
  assert.equal(await estimateTokens('hello world'), 2);
  // Special-token text in user content is plain text, not rejected.
  assert.ok((await estimateTokens('<|endoftext|>')) > 1);
});

test('estimates a call: message overheads, tool specs and output, always marked estimated', async () => {
  const usage = await estimateUsage(
    {
      model: 'm',
      messages: [
        { role: 'system', content: 'hello world' },
        { role: 'user', content: 'hello world' },
      ],
    },
    { text: 'hello world', toolCalls: [{ id: 'c1', name: 'hello', arguments: ' world' }] },
  );
  // 3 priming + 2 × (4 per message + 2) prompt; 2 + 2 completion.
  assert.deepEqual(usage, { promptTokens: 15, completionTokens: 4, totalTokens: 19, estimated: true });
});

test('a started estimator does not keep the process alive, idle or after counting', async (t) => {
  const module = new URL('./token-estimator.ts', import.meta.url).href;
  // A script file, not `-e`: the worker inherits the parent's execArgv, and `--eval` would break it.
  const dir = mkdtempSync(join(tmpdir(), 'herald-estimator-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const scripts = {
    idle: `import { prepareTokenEstimator } from '${module}'; prepareTokenEstimator();`,
    counted: `import { estimateTokens } from '${module}'; await estimateTokens('hello');`,
  };
  for (const [name, source] of Object.entries(scripts)) {
    const script = join(dir, `${name}.mjs`);
    writeFileSync(script, source);
    const child = spawn(process.execPath, [script], { stdio: 'ignore' });
    // Hang guard only: the child exits in well under a second when nothing holds it.
    const guard = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const [code, signal] = await once(child, 'exit');
    clearTimeout(guard);
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, name);
  }
});
