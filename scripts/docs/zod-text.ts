// Contract schemas as compact TypeScript-like text for the docs (`{ to: AgentId, idempotencyKey?:
// IdempotencyKey }`), read from the zod objects themselves so the docs cannot drift from them.
// Schemas the docs give a name are written by that name; any kind of schema not handled here stops
// the generator rather than being guessed at.
import { z } from 'zod';

/** Names for shared schemas, by identity (a wrapped `.optional()` keeps the inner object). */
export type SchemaNames = ReadonlyMap<z.ZodType, string>;

interface CheckDef {
  readonly check?: string;
  readonly format?: string;
  readonly value?: unknown;
  readonly inclusive?: boolean;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly pattern?: RegExp;
}

function checksOf(schema: z.ZodType): CheckDef[] {
  const checks = (schema._zod.def as { checks?: readonly { _zod: { def: CheckDef } }[] }).checks;
  return (checks ?? []).map((check) => check._zod.def);
}

/** `int 1–100`, `int ≥ 0`, `number > 0`: the bounds a number schema checks. */
function numberText(schema: z.ZodNumber): string {
  let integer = false;
  let low: string | undefined;
  let high: string | undefined;
  let lowValue: number | undefined;
  let highValue: number | undefined;
  for (const check of checksOf(schema)) {
    if (check.check === 'number_format') integer ||= check.format?.includes('int') === true;
    if (check.check === 'greater_than' && typeof check.value === 'number') {
      lowValue = check.value;
      low = check.inclusive === true ? '≥' : '>';
    }
    if (check.check === 'less_than' && typeof check.value === 'number') {
      highValue = check.value;
      high = check.inclusive === true ? '≤' : '<';
    }
  }
  const kind = integer ? 'int' : 'number';
  // For whole numbers `> 0` is `≥ 1`: bounds read better inclusive.
  if (integer && low === '>' && lowValue !== undefined) [low, lowValue] = ['≥', lowValue + 1];
  if (integer && high === '<' && highValue !== undefined) [high, highValue] = ['≤', highValue - 1];
  // The safe-integer ceiling says nothing a reader needs.
  if (highValue === Number.MAX_SAFE_INTEGER) highValue = undefined;
  if (lowValue !== undefined && highValue !== undefined && low === '≥' && high === '≤')
    return `${kind} ${lowValue}–${highValue}`;
  const bounds = [
    lowValue === undefined ? '' : ` ${low ?? ''} ${lowValue}`,
    highValue === undefined ? '' : ` ${high ?? ''} ${highValue}`,
  ];
  return `${kind}${bounds.join('')}`;
}

function stringText(schema: z.ZodString): string {
  const parts: string[] = [];
  for (const check of checksOf(schema)) {
    if (check.check === 'string_format' && check.pattern !== undefined)
      parts.push(`matching ${String(check.pattern)}`);
    if (check.check === 'min_length') parts.push(`≥ ${String(check.minimum)} characters`);
    if (check.check === 'max_length') parts.push(`≤ ${String(check.maximum)} characters`);
  }
  return parts.length === 0 ? 'string' : `string ${parts.join(', ')}`;
}

function lengthText(schema: z.ZodType): string {
  let min: number | undefined;
  let max: number | undefined;
  for (const check of checksOf(schema)) {
    if (check.check === 'min_length') min = check.minimum;
    if (check.check === 'max_length') max = check.maximum;
  }
  if (min === undefined && max === undefined) return '';
  return ` (${min ?? 0}–${max ?? '∞'} items)`;
}

/** Whether a field may be left out by whoever writes the object. */
export function isOmittable(schema: z.ZodType): boolean {
  return schema instanceof z.ZodOptional || schema instanceof z.ZodDefault;
}

function fieldsText(shape: Readonly<Record<string, z.ZodType>>, names: SchemaNames): string {
  const fields = Object.entries(shape).map(
    ([key, field]) => `${key}${isOmittable(field) ? '?' : ''}: ${typeText(field, names)}`,
  );
  return fields.length === 0 ? '{}' : `{ ${fields.join(', ')} }`;
}

/**
 * The schema as text. `expand` writes a named schema's own definition instead of its name (for
 * the table that defines the names).
 */
export function typeText(schema: z.ZodType, names: SchemaNames, expand = false): string {
  const name = names.get(schema);
  if (name !== undefined && !expand) return name;
  if (schema instanceof z.ZodOptional) return typeText(schema.unwrap() as z.ZodType, names);
  if (schema instanceof z.ZodDefault) {
    const fallback: unknown = schema.parse(undefined);
    return `${typeText(schema.unwrap() as z.ZodType, names)} (default ${JSON.stringify(fallback)})`;
  }
  if (schema instanceof z.ZodNullable)
    return `${typeText(schema.unwrap() as z.ZodType, names)} | null`;
  if (schema instanceof z.ZodObject) return fieldsText(schema.shape, names);
  // A discriminated union is a union too: its options, each in full.
  if (schema instanceof z.ZodUnion)
    return schema.options.map((option) => typeText(option as z.ZodType, names)).join(' | ');
  if (schema instanceof z.ZodArray)
    return `${typeText(schema.element as z.ZodType, names)}[]${lengthText(schema)}`;
  if (schema instanceof z.ZodString) return stringText(schema);
  if (schema instanceof z.ZodNumber) return numberText(schema);
  if (schema instanceof z.ZodBoolean) return 'boolean';
  if (schema instanceof z.ZodLiteral)
    return [...schema.values].map((value) => JSON.stringify(value)).join(' | ');
  if (schema instanceof z.ZodEnum)
    return schema.options.map((option) => JSON.stringify(option)).join(' | ');
  throw new Error(
    `the docs cannot describe a ${schema._zod.def.type} schema: give it a name in scripts/docs/contract-types.ts`,
  );
}
