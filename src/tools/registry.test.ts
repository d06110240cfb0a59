import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { configSchema, type HeraldConfig } from '../config/schema.ts';
import { DuplicateToolError, UnknownToolError, UnknownToolsetError } from './errors.ts';
import { createToolRegistry } from './registry.ts';
import { toolSpec } from './tool-spec.ts';
import type { AnyTool } from './types.ts';

const builtinNames = ['terminal', 'read_file', 'write_file', 'edit_file', 'search_files', 'web_fetch'];

const config = (toolsets: Record<string, string[]> = {}): HeraldConfig => ({
  ...configSchema.parse({ toolsets }),
  home: '/tmp/herald-home',
});

const names = (tools: AnyTool[]): string[] => tools.map((tool) => tool.name);

const extraTool: AnyTool = {
  name: 'clock',
  description: 'Tells the time.',
  schema: z.object({}),
  label: () => 'clock',
  execute: async () => 'noon',
};

test('api, chat and cli hold every built-in tool by default', () => {
  const registry = createToolRegistry(config());
  assert.deepEqual(registry.toolsetNames(), ['api', 'chat', 'cli']);
  for (const name of ['api', 'chat', 'cli']) assert.deepEqual(names(registry.toolset(name)), builtinNames);
});

test('config defines new toolsets and redefines the defaults', () => {
  const registry = createToolRegistry(
    config({ chat: ['web_fetch'], readonly: ['read_file', 'search_files', 'read_file'] }),
  );
  assert.deepEqual(names(registry.toolset('chat')), ['web_fetch']);
  assert.deepEqual(names(registry.toolset('readonly')), ['read_file', 'search_files']);
  assert.deepEqual(names(registry.toolset('api')), builtinNames);
  assert.deepEqual(registry.toolsetNames(), ['api', 'chat', 'cli', 'readonly']);
});

test('an empty toolset is allowed: an agent without tools', () => {
  assert.deepEqual(createToolRegistry(config({ plain: [] })).toolset('plain'), []);
});

test('a toolset naming an unknown tool fails at creation, naming the config key', () => {
  assert.throws(
    () => createToolRegistry(config({ chat: ['read_file', 'shell'] })),
    (error: unknown) => {
      assert.ok(error instanceof UnknownToolError);
      assert.equal(error.code, 'unknown_tool');
      assert.equal(error.key, 'toolsets.chat');
      assert.match(
        error.message,
        /^toolsets\.chat: unknown tool "shell"; expected one of terminal, read_file/,
      );
      return true;
    },
  );
});

test('an unknown toolset name is an UnknownToolsetError', () => {
  const registry = createToolRegistry(config());
  assert.throws(
    () => registry.toolset('nope'),
    (error: unknown) => {
      assert.ok(error instanceof UnknownToolsetError);
      assert.equal(error.code, 'unknown_toolset');
      assert.match(error.message, /Unknown toolset "nope"; defined toolsets: api, chat, cli/);
      return true;
    },
  );
});

test('extra tools join the built-ins and the default toolsets, and can be named in toolsets', () => {
  const registry = createToolRegistry(config({ timekeeping: ['clock'] }), { extraTools: [extraTool] });
  assert.deepEqual(names(registry.toolset('api')), [...builtinNames, 'clock']);
  assert.deepEqual(names(registry.toolset('timekeeping')), ['clock']);
});

test('two tools with one name are refused', () => {
  assert.throws(
    () => createToolRegistry(config(), { extraTools: [{ ...extraTool, name: 'terminal' }] }),
    DuplicateToolError,
  );
});

test('callers cannot alter a toolset through the returned array', () => {
  const registry = createToolRegistry(config());
  registry.toolset('api').pop();
  assert.equal(registry.toolset('api').length, builtinNames.length);
});

test('every built-in tool has a valid object schema for the model', () => {
  for (const tool of createToolRegistry(config()).toolset('api')) {
    const spec = toolSpec(tool);
    assert.equal(spec.parameters?.['type'], 'object', tool.name);
    assert.match(spec.name, /^[a-zA-Z0-9_-]{1,64}$/);
    assert.ok((spec.description ?? '').length > 20, tool.name);
    assert.equal('$schema' in (spec.parameters ?? {}), false);
  }
});
