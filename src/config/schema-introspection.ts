/**
 * Reads the zod config schema as data: the schema at a dotted path, the keys of a section, and a
 * human phrase for what a key accepts ("an integer from 0 to 65535", "one of off, first, all"). Error
 * messages, `herald config show` and the default config.yaml use it so they never drift from schema.ts.
 * It relies on zod 4's public `_zod.def` shape and treats anything it does not know as opaque.
 */
import type { z } from 'zod';

/** The parts of a zod 4 schema definition this module reads. */
interface SchemaDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  entries?: Record<string, string | number>;
  checks?: { _zod: { def: CheckDef } }[];
  format?: string;
}

interface CheckDef {
  check: string;
  value?: number;
  inclusive?: boolean;
  minimum?: number;
  format?: string;
}

function defOf(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
}

/** Strips default/optional/nullable/transform wrappers down to the schema that says what is accepted. */
function unwrapSchema(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if ((def.type === 'default' || def.type === 'optional' || def.type === 'nullable') && def.innerType) {
      current = def.innerType;
    } else if (def.type === 'pipe' && def.in) {
      current = def.in;
    } else {
      return current;
    }
  }
}

/** The keys of an object schema (after unwrapping), or undefined when it is not an object. */
export function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  const def = defOf(unwrapSchema(schema));
  return def.type === 'object' ? def.shape : undefined;
}

/** What a record schema maps names to, or undefined when it is not a record. */
export function recordValue(schema: z.ZodType): z.ZodType | undefined {
  const def = defOf(unwrapSchema(schema));
  return def.type === 'record' ? def.valueType : undefined;
}

/** The schema at `path` (object keys, record names, array indices), or undefined when there is none. */
export function schemaAt(root: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = root;
  for (const segment of path) {
    if (!current) return undefined;
    const def = defOf(unwrapSchema(current));
    if (def.type === 'object') current = def.shape?.[String(segment)];
    else if (def.type === 'record') current = def.valueType;
    else if (def.type === 'array') current = def.element;
    else return undefined;
  }
  return current;
}

/** A short phrase saying what `schema` accepts, for "expected …" in error messages and docs. */
export function describeExpected(schema: z.ZodType): string {
  const inner = unwrapSchema(schema);
  const def = defOf(inner);
  switch (def.type) {
    case 'boolean':
      return 'true or false';
    case 'number':
      return describeNumber(def);
    case 'string':
      return describeString(def);
    case 'enum':
      return `one of ${Object.values(def.entries ?? {}).join(', ')}`;
    case 'array':
      return def.element ? `a list of ${plural(describeExpected(def.element))}` : 'a list';
    case 'record':
      return 'a mapping of names to values';
    case 'object':
      return `a section with keys ${Object.keys(def.shape ?? {}).join(', ')}`;
    case 'union':
      return (def.options ?? []).map(describeExpected).join(' or ');
    default:
      return def.type;
  }
}

function describeNumber(def: SchemaDef): string {
  let integer = false;
  let min: { value: number; inclusive: boolean } | undefined;
  let max: { value: number; inclusive: boolean } | undefined;
  for (const check of def.checks ?? []) {
    const c = check._zod.def;
    if (c.check === 'number_format' && (c.format === 'safeint' || c.format === 'int32')) integer = true;
    if (c.check === 'greater_than' && c.value !== undefined)
      min = { value: c.value, inclusive: !!c.inclusive };
    if (c.check === 'less_than' && c.value !== undefined) max = { value: c.value, inclusive: !!c.inclusive };
  }
  const noun = integer ? 'an integer' : 'a number';
  if (min?.inclusive && max?.inclusive) return `${noun} from ${min.value} to ${max.value}`;
  if (min && min.value === 0 && !min.inclusive) return integer ? 'a positive integer' : 'a positive number';
  if (min && min.value === 0 && min.inclusive) return `${noun} of 0 or more`;
  if (min) return `${noun} ${min.inclusive ? '>=' : '>'} ${min.value}`;
  if (max) return `${noun} ${max.inclusive ? '<=' : '<'} ${max.value}`;
  return noun;
}

function describeString(def: SchemaDef): string {
  if (def.format === 'url') return 'a URL such as https://host/v1';
  const minLength = (def.checks ?? []).find((c) => c._zod.def.check === 'min_length');
  return minLength ? 'a non-empty string' : 'a string';
}

/** "a string" → "strings", for "a list of strings". */
function plural(phrase: string): string {
  return phrase
    .split(' or ')
    .map((p) => p.replace(/^an? /, '').replace(/\b(string|integer|number|URL)\b/, '$1s'))
    .join(' or ');
}
