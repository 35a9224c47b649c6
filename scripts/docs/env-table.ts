// The environment variables for docs/configuration.md. The relay's from its own schema: each
// variable's default is what the schema makes of it unset, its meaning is the schema's `.describe()`.
// The SDK's and the MCP server's from the descriptors they list in `--help` and test against
// what they read.
import { z } from 'zod';
import type { EnvVariable } from '../../client/src/env.js';
import { relayEnvSchema } from '../../server/src/env.js';
import { code, markdownTable } from './markdown.js';
import { typeText } from './zod-text.js';

/** The first number or enum a variable's pipeline parses its text into, if any. */
function valueSchema(schema: z.ZodType): z.ZodNumber | z.ZodEnum | undefined {
  if (schema instanceof z.ZodNumber || schema instanceof z.ZodEnum) return schema;
  if (schema instanceof z.ZodPipe)
    return valueSchema(schema.in as z.ZodType) ?? valueSchema(schema.out as z.ZodType);
  if (schema instanceof z.ZodOptional) return valueSchema(schema.unwrap() as z.ZodType);
  return undefined;
}

function defaultText(value: unknown): string {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return 'unset';
  if (typeof value === 'string' || typeof value === 'number') return code(String(value));
  throw new Error(`no way to show the default ${JSON.stringify(value)}`);
}

function valuesText(schema: z.ZodType, fallback: unknown): string {
  const parsed = valueSchema(schema);
  if (parsed instanceof z.ZodEnum)
    return parsed.options.map((option) => code(String(option))).join(', ');
  if (parsed !== undefined)
    return typeText(parsed, new Map()).replace(/^int/, 'whole number').trim();
  return Array.isArray(fallback) ? 'comma-separated list' : 'text';
}

export function renderRelayEnvTable(): string {
  return markdownTable(
    ['variable', 'default', 'values', 'meaning'],
    Object.entries(relayEnvSchema.shape).map(([name, schema]: [string, z.ZodType]) => {
      const meaning = schema.description;
      if (meaning === undefined)
        throw new Error(`server/src/env.ts: ${name} has no .describe() for the docs`);
      const fallback: unknown = schema.parse(undefined);
      return [code(name), defaultText(fallback), valuesText(schema, fallback), meaning];
    }),
  );
}

/** A default in words as the table shows it: a literal value as code, words as they are. */
function wordedDefault(text: string): string {
  return /\s/.test(text) || text === 'unset' || text === 'required' ? text : code(text);
}

/** The SDK's or the MCP server's variables, from the descriptors their `--help` lists too. */
export function renderVariableTable(variables: readonly EnvVariable[]): string {
  return markdownTable(
    ['variable', 'default', 'meaning'],
    variables.map((variable) => [
      code(variable.name),
      wordedDefault(variable.defaultValue),
      variable.notes === undefined ? variable.meaning : `${variable.meaning}; ${variable.notes}`,
    ]),
  );
}
