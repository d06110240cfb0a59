import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseClientTools } from './client-tools.ts';
import { ApiError } from './errors.ts';

const own = new Set(['terminal', 'read_file']);
const rejects = (fn: () => unknown, param: string, code = 'invalid_value') =>
  assert.throws(fn, (err: unknown) => err instanceof ApiError && err.param === param && err.code === code);

describe('parseClientTools', () => {
  it('reads both shapes into the same specs, keeping schema and strict exactly as sent', () => {
    const parameters = { type: 'object', properties: { q: { type: 'string' } }, $defs: { x: {} } };
    const chat = parseClientTools(
      { tools: [{ type: 'function', function: { name: 'search', parameters, strict: null } }] },
      'chat',
      own,
    );
    const responses = parseClientTools(
      { tools: [{ type: 'function', name: 'search', parameters, strict: null }] },
      'responses',
      own,
    );
    assert.deepEqual(chat, responses);
    assert.deepEqual(chat.tools, [{ name: 'search', parameters, strict: null }]);
    assert.equal(chat.tools[0]?.parameters, parameters);
  });

  it('treats missing and null fields as not given', () => {
    assert.deepEqual(
      parseClientTools({ tools: null, tool_choice: null, parallel_tool_calls: null }, 'chat', own),
      {
        tools: [],
        toolChoice: undefined,
        parallelToolCalls: undefined,
      },
    );
  });

  it('accepts a named tool_choice in either shape on either API', () => {
    const tools = [{ type: 'function', name: 'search' }];
    for (const tool_choice of [
      { type: 'function', name: 'search' },
      { type: 'function', function: { name: 'search' } },
    ]) {
      assert.deepEqual(parseClientTools({ tools, tool_choice }, 'responses', own).toolChoice, {
        type: 'function',
        name: 'search',
      });
    }
  });

  it('refuses clashes, duplicates, bad names, other tool types and odd tool_choice values, naming the param', () => {
    const fn = (name: string) => ({ type: 'function', name });
    rejects(
      () => parseClientTools({ tools: [fn('a'), fn('read_file')] }, 'responses', own),
      'tools[1].name',
      'tool_name_conflict',
    );
    rejects(() => parseClientTools({ tools: [fn('a'), fn('a')] }, 'responses', own), 'tools[1].name');
    rejects(() => parseClientTools({ tools: [fn('has space')] }, 'responses', own), 'tools[0].name');
    rejects(
      () => parseClientTools({ tools: [{ type: 'function', function: {} }] }, 'chat', own),
      'tools[0].function.name',
    );
    rejects(
      () => parseClientTools({ tools: [{ type: 'web_search' }] }, 'responses', own),
      'tools[0].type',
      'unsupported_tool_type',
    );
    rejects(
      () => parseClientTools({ tool_choice: { type: 'allowed_tools' } }, 'chat', own),
      'tool_choice',
      'unsupported_value',
    );
    rejects(
      () => parseClientTools({ tool_choice: { type: 'function', name: 'x' } }, 'responses', own),
      'tool_choice',
    );
    rejects(() => parseClientTools({ parallel_tool_calls: 'yes' }, 'chat', own), 'parallel_tool_calls');
  });
});
