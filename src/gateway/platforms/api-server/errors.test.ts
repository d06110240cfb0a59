import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { fromZodIssues } from './errors.ts';

function errorFor(schema: z.ZodType, value: unknown): { message: string; param: string | null } {
  const parsed = schema.safeParse(value);
  assert.ok(!parsed.success);
  return fromZodIssues(parsed.error.issues);
}

test('every zod issue becomes the exact param and what is expected there', () => {
  const schema = z.object({
    a: z.union([z.string(), z.array(z.object({ refusal: z.union([z.string(), z.null()]).optional() }))]),
    n: z.number().int().min(1).max(4).optional(),
    mode: z.enum(['x', 'y']).optional(),
    tags: z.array(z.string()).max(2).optional(),
  });
  const cases: [unknown, string, string][] = [
    [{ a: [{ refusal: 1 }] }, 'a[0].refusal', 'a[0].refusal: expected a string or null, but got a number.'],
    [{ a: true }, 'a', 'a: expected a string or an array, but got a boolean.'],
    [{}, 'a', 'a: expected a string or an array, but it is missing.'],
    [{ a: '', n: 1.5 }, 'n', 'n: expected an integer, but got a number.'],
    [{ a: '', n: 9 }, 'n', 'n: expected a number <= 4.'],
    [{ a: '', mode: 'z' }, 'mode', 'mode: expected "x" or "y".'],
    [{ a: '', tags: ['1', '2', '3'] }, 'tags', 'tags: expected at most 2 items.'],
  ];
  for (const [value, param, message] of cases) {
    const { message: got, param: gotParam } = errorFor(schema, value);
    assert.deepEqual({ param: gotParam, message: got }, { param, message });
  }
});

test('a message the schema chose is kept', () => {
  const error = errorFor(z.object({ n: z.number().max(1, { error: 'n must be 1.' }) }), { n: 2 });
  assert.equal(error.message, 'n: n must be 1.');
});
