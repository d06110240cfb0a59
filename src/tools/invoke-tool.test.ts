import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { configSchema } from '../config/schema.ts';
import { ToolError } from './errors.ts';
import { invokeTool } from './invoke-tool.ts';
import { toolSpec } from './tool-spec.ts';
import type { Tool, ToolContext } from './types.ts';

const echoArgs = z.object({
  text: z.string().describe('What to echo'),
  times: z.number().int().positive().default(1),
});

function echoTool(execute?: Tool<z.infer<typeof echoArgs>>['execute']): Tool<z.infer<typeof echoArgs>> {
  return {
    name: 'echo',
    description: 'Echo text.',
    schema: echoArgs,
    label: (args) => `echo: ${args.text}`,
    execute: execute ?? (async (args) => args.text.repeat(args.times)),
  };
}

const context = (signal: AbortSignal = new AbortController().signal): ToolContext => ({
  cwd: '/',
  home: '/nonexistent/herald-home',
  signal,
  config: configSchema.parse({}).tools,
});

test('parses and validates the arguments, applying defaults', async () => {
  assert.deepEqual(await invokeTool(echoTool(), '{"text":"ab","times":2}', context()), {
    output: 'abab',
    isError: false,
  });
  assert.deepEqual(await invokeTool(echoTool(), '{"text":"ab"}', context()), {
    output: 'ab',
    isError: false,
  });
});

test('an empty arguments string means no arguments', async () => {
  const noArgs: Tool<Record<string, never>> = {
    name: 'now',
    description: 'No arguments.',
    schema: z.object({}),
    label: () => 'now',
    execute: async () => 'ok',
  };
  assert.deepEqual(await invokeTool(noArgs, '', context()), { output: 'ok', isError: false });
  assert.deepEqual(await invokeTool(noArgs, '  ', context()), { output: 'ok', isError: false });
});

test('invalid JSON is an error result', async () => {
  const result = await invokeTool(echoTool(), '{"text": "unterminated', context());
  assert.equal(result.isError, true);
  assert.match(result.output, /^Error: the arguments are not valid JSON \(/);
});

test('a schema failure lists every bad field', async () => {
  const result = await invokeTool(echoTool(), '{"times":0}', context());
  assert.equal(result.isError, true);
  assert.match(result.output, /^Error: invalid arguments for echo: /);
  assert.match(result.output, /text: Invalid input: expected string, received undefined/);
  assert.match(result.output, /times: Too small/);
  const notObject = await invokeTool(echoTool(), '[1]', context());
  assert.match(notObject.output, /^Error: invalid arguments for echo: \(arguments\): /);
});

test('a thrown error becomes an error result, never a rejection', async () => {
  const throwing = echoTool(async () => {
    throw new ToolError('not_found', 'File not found: x.txt');
  });
  assert.deepEqual(await invokeTool(throwing, '{"text":"x"}', context()), {
    output: 'Error: File not found: x.txt',
    isError: true,
  });
  const synchronous = echoTool(() => {
    throw 'a string';
  });
  assert.deepEqual(await invokeTool(synchronous, '{"text":"x"}', context()), {
    output: 'Error: a string',
    isError: true,
  });
});

test('returns promptly when the signal aborts, even if the tool ignores it', async () => {
  const controller = new AbortController();
  const stuck = echoTool(() => new Promise<string>(() => {}));
  const pending = invokeTool(stuck, '{"text":"x"}', context(controller.signal));
  setTimeout(() => controller.abort(), 20);
  const hangGuard = sleep(3_000, { output: 'hung', isError: false }, { ref: false });
  assert.deepEqual(await Promise.race([pending, hangGuard]), {
    output: 'Error: the tool call was cancelled.',
    isError: true,
  });
});

test('does not start a tool when the signal is already aborted', async () => {
  let started = false;
  const tool = echoTool(async () => {
    started = true;
    return 'ran';
  });
  const result = await invokeTool(tool, '{"text":"x"}', context(AbortSignal.abort()));
  assert.equal(result.isError, true);
  assert.equal(started, false);
});

test('toolSpec gives the JSON Schema of the arguments, computed once', () => {
  const tool = echoTool();
  const spec = toolSpec(tool);
  assert.deepEqual(spec, {
    name: 'echo',
    description: 'Echo text.',
    parameters: {
      type: 'object',
      properties: {
        text: { type: 'string', description: 'What to echo' },
        times: { type: 'integer', exclusiveMinimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 1 },
      },
      required: ['text'],
    },
  });
  assert.equal(toolSpec(tool), spec);
});
