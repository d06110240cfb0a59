import assert from 'node:assert/strict';
import { test } from 'node:test';
import { echoedTools } from './echoed-tools.ts';

test('function tools get every field the spec requires, with its defaults', () => {
  assert.deepEqual(echoedTools([{ type: 'function', name: 'f' }]), [
    { type: 'function', name: 'f', description: null, parameters: null, strict: true },
  ]);
});

test('what the client sent is kept, chat-style definitions are flattened, other tools pass as sent', () => {
  const parameters = { type: 'object', properties: {} };
  assert.deepEqual(
    echoedTools([
      { type: 'function', name: 'f', description: 'd', parameters, strict: false },
      { type: 'function', function: { name: 'g', parameters } },
      { type: 'web_search' },
    ]),
    [
      { type: 'function', name: 'f', description: 'd', parameters, strict: false },
      { type: 'function', name: 'g', description: null, parameters, strict: true },
      { type: 'web_search' },
    ],
  );
});
