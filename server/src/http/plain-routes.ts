// The plain HTTP API's routes (PROTOCOL §3.8), derived from the contract's procedure table alone: a
// query is `GET /v1/<path>` with its input's fields as query parameters, a mutation `POST /v1/<path>`
// with its input as the JSON body, a subscription `GET /v1/<path>` as an SSE stream. How a query
// parameter's text becomes a value is read off the input's JSON Schema (the same one the OpenAPI
// document publishes), so a procedure added to the table is served, and its parameters read, with
// no code here.
import { z } from 'zod';
import { listProcedures, type ProcedureDefinition } from '@deaddrop/contract';

/** Every route lives below this prefix: `/v1/<procedure path>`. */
export const PLAIN_API_PREFIX = '/v1/';

/** A JSON Schema as zod writes it (draft 2020-12). */
export type JsonSchema = z.core.JSONSchema.BaseSchema;

/** The JSON types a parameter's text may be read as. */
type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'null' | 'object' | 'array';

export interface PlainRoute {
  /** The procedure's dotted path (`directory.lookup`), also its proof scope. */
  readonly path: string;
  readonly method: 'GET' | 'POST';
  readonly definition: ProcedureDefinition;
  /**
   * A GET route's input fields by name, each with the schema its query parameter is read by; null
   * for a procedure without input and for POST routes (their input is the body).
   */
  readonly fields: ReadonlyMap<string, JsonSchema> | null;
}

/** The JSON Schema of a procedure's input or output, as clients send or receive it. */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  // `unrepresentable: 'throw'` (zod's default): a schema JSON Schema cannot say fails loudly here,
  // at startup, rather than being published as `{}`.
  const written = z.toJSONSchema(schema, { io, unrepresentable: 'throw' });
  // The dialect is the document's (OpenAPI 3.1 is draft 2020-12), not restated per schema.
  delete written.$schema;
  return written;
}

/** The schemas a value of `schema` may match: itself, or each member of its unions. */
function alternatives(schema: JsonSchema): JsonSchema[] {
  const members = [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])];
  return members.length === 0 ? [schema] : members.flatMap(alternatives);
}

/** The properties of an object input (unwrapping a union with `null`, which `.nullish()` makes). */
function objectProperties(path: string, schema: JsonSchema): ReadonlyMap<string, JsonSchema> {
  const object = alternatives(schema).find((member) => member.properties !== undefined);
  if (object?.properties === undefined)
    throw new Error(`${path}: a GET route's input must be an object (its fields are parameters)`);
  return new Map(
    Object.entries(object.properties).map(([name, property]) => [
      name,
      typeof property === 'boolean' ? {} : property,
    ]),
  );
}

export function routeOf(path: string, definition: ProcedureDefinition): PlainRoute {
  const method = definition.kind === 'mutation' ? 'POST' : 'GET';
  const fields =
    method === 'GET' && definition.input !== undefined
      ? objectProperties(path, jsonSchemaOf(definition.input, 'input'))
      : null;
  return { path, method, definition, fields };
}

/** Every procedure of `table` as a route, keyed by its URL path (`/v1/directory.lookup`). */
export function plainRoutes(
  table: readonly { path: string; definition: ProcedureDefinition }[] = listProcedures(),
): ReadonlyMap<string, PlainRoute> {
  return new Map(
    table.map(({ path, definition }) => [`${PLAIN_API_PREFIX}${path}`, routeOf(path, definition)]),
  );
}

function typesOf(schema: JsonSchema): Set<JsonType> {
  const types = new Set<JsonType>();
  for (const member of alternatives(schema)) {
    const declared = member.type;
    for (const type of Array.isArray(declared)
      ? declared
      : declared === undefined
        ? []
        : [declared])
      types.add(type);
    for (const value of [...(member.enum ?? []), ...('const' in member ? [member.const] : [])]) {
      if (typeof value === 'string') types.add('string');
      else if (typeof value === 'number') types.add('number');
      else if (typeof value === 'boolean') types.add('boolean');
      else if (value === null) types.add('null');
    }
  }
  return types;
}

/** A JSON number, as JSON writes it (no `+`, no leading zeros, no `0x`, no blanks). */
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/**
 * One parameter's text as the value its schema takes: the text itself where a string is allowed,
 * else a number, `true`/`false` or `null` where the schema takes one and the text spells it, else
 * JSON for an object. Anything else stays text, for the schema to refuse with a message naming
 * the field.
 */
function readText(text: string, schema: JsonSchema): unknown {
  const types = typesOf(schema);
  if (types.has('string') || types.size === 0) return text;
  if ((types.has('number') || types.has('integer')) && JSON_NUMBER.test(text)) return Number(text);
  if (types.has('boolean') && (text === 'true' || text === 'false')) return text === 'true';
  if (types.has('null') && text === 'null') return null;
  if (types.has('object')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

function itemSchema(schema: JsonSchema): JsonSchema | null {
  const array = alternatives(schema).find((member) => member.type === 'array');
  if (array === undefined) return null;
  const items = array.items;
  return items === undefined || typeof items === 'boolean' || Array.isArray(items) ? {} : items;
}

/**
 * A GET route's raw input from its query parameters: each field read by its schema, an array field
 * from every occurrence of its parameter (`ids=a&ids=b`), any other field repeated as the list of
 * its occurrences (which its schema refuses). Parameters the input does not name are passed on as
 * text, for the schema to drop or refuse as it does with JSON input.
 */
export function queryInput(route: PlainRoute, query: URLSearchParams): Record<string, unknown> {
  // Built with fromEntries, which defines own properties: `?__proto__=…` names a field like any
  // other instead of reaching the object's prototype.
  return Object.fromEntries(
    [...new Set(query.keys())].map((name) => {
      const texts = query.getAll(name);
      const schema = route.fields?.get(name) ?? { type: 'string' };
      const items = itemSchema(schema);
      if (items !== null) return [name, texts.map((text) => readText(text, items))];
      if (texts.length === 1) return [name, readText(texts[0] ?? '', schema)];
      return [name, texts.map((text) => readText(text, schema))];
    }),
  );
}
