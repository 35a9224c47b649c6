// How the plain API reads a query's parameters (PROTOCOL §3.8): by the type the input's schema
// gives each field, arrays as a repeated parameter. The contract's queries have no array or boolean
// field today, so the rule is tested on a table of its own.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { listProcedures, type ProcedureDefinition } from '@deaddrop/contract';
import { plainRoutes, queryInput, routeOf } from './plain-routes.js';

function query(fields: z.ZodType): ProcedureDefinition {
  return {
    kind: 'query',
    auth: 'none',
    apiKey: true,
    input: fields,
    output: z.object({}),
    description: 'a test query',
  };
}

const route = routeOf(
  'test.query',
  query(
    z
      .object({
        name: z.string(),
        count: z.number().int().optional(),
        ratio: z.number().optional(),
        flag: z.boolean().optional(),
        ids: z.array(z.string()).optional(),
        sizes: z.array(z.number().int()).optional(),
        digits: z.string().optional(),
        cursor: z.string().nullish(),
        gone: z.null().optional(),
        filter: z.object({ min: z.number() }).optional(),
        choice: z.enum(['a', 'b']).optional(),
      })
      .default({ name: 'x' }),
  ),
);

function read(text: string): Record<string, unknown> {
  return queryInput(route, new URLSearchParams(text));
}

describe('query parameters of the plain API', () => {
  it('reads numbers and booleans where the schema takes them, text everywhere else', () => {
    expect(read('name=7&count=42&ratio=-0.5e1&flag=true&digits=007&cursor=null&choice=a')).toEqual({
      name: '7',
      count: 42,
      ratio: -5,
      flag: true,
      digits: '007',
      cursor: 'null',
      choice: 'a',
    });
    expect(read('flag=false&gone=null')).toEqual({ flag: false, gone: null });
  });

  it('leaves text that does not spell the type as text, for the schema to refuse by name', () => {
    const input = read('count=12abc&flag=yes&ratio=0x10&sizes=1e');
    expect(input).toEqual({ count: '12abc', flag: 'yes', ratio: '0x10', sizes: ['1e'] });
    const result = route.definition.input?.safeParse({ name: 'n', ...input });
    expect(result?.success).toBe(false);
    expect(result?.error?.issues.map((issue) => issue.path[0])).toEqual(
      expect.arrayContaining(['count', 'flag', 'ratio', 'sizes']),
    );
  });

  it('reads an array field from every occurrence of its parameter, in order', () => {
    expect(read('ids=b&ids=a&sizes=3&sizes=1&sizes=2')).toEqual({
      ids: ['b', 'a'],
      sizes: [3, 1, 2],
    });
    expect(read('ids=only')).toEqual({ ids: ['only'] });
  });

  it('hands a repeated scalar to the schema as a list, which refuses it', () => {
    const input = read('name=a&name=b');
    expect(input).toEqual({ name: ['a', 'b'] });
    expect(route.definition.input?.safeParse(input).success).toBe(false);
  });

  it('reads an object field as JSON text', () => {
    expect(read(`filter=${encodeURIComponent('{"min":3}')}`)).toEqual({ filter: { min: 3 } });
    expect(read('filter=%7Bnope')).toEqual({ filter: '{nope' });
  });

  it('passes parameters the input does not name on as text, as an own property', () => {
    const input = read('extra=1&__proto__=x&__proto__=y');
    expect(Object.getPrototypeOf(input)).toBe(Object.prototype);
    expect(Object.hasOwn(input, '__proto__')).toBe(true);
    expect(input.extra).toBe('1');
  });

  it('decodes percent-escapes and plus signs as URLSearchParams does', () => {
    expect(read('name=a%20b+c&digits=%2B1')).toEqual({ name: 'a b c', digits: '+1' });
  });

  it('routes every procedure of the table, queries and subscriptions by GET, mutations by POST', () => {
    const routes = plainRoutes();
    for (const { path, definition } of listProcedures()) {
      const served = routes.get(`/v1/${path}`);
      expect(served?.path, path).toBe(path);
      expect(served?.method, path).toBe(definition.kind === 'mutation' ? 'POST' : 'GET');
    }
    expect(routes.size).toBe(listProcedures().length);
  });

  it('refuses, at startup, a query whose input is not an object', () => {
    expect(() => routeOf('test.bad', query(z.string()))).toThrow(/must be an object/);
  });
});
