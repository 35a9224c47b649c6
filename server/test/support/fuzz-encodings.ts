// How the fuzz suite's inputs travel: superjson as tRPC clients send it, plain JSON without its
// wrapper, superjson whose `meta` lies, text that is not JSON or is nested absurdly deep, and the
// index-keyed object of a batch with entries missing, extra or misnamed.
import fc from 'fast-check';
import superjson from 'superjson';
import { inputValue } from './fuzz-inputs.js';

/** superjson's wire form of `value`, as tRPC clients send it. */
export function superjsonText(value: unknown): string {
  try {
    return JSON.stringify(superjson.serialize(value));
  } catch {
    // A value superjson refuses (e.g. a `__proto__` key) is sent as its plain JSON.
    return plainJson({ json: value });
  }
}

function plainJson(value: unknown): string {
  try {
    // `undefined` (and functions) have no JSON text.
    const text = JSON.stringify(value) as string | undefined;
    return text ?? '';
  } catch {
    return 'null';
  }
}

const metaPath = fc.oneof(
  fc.constantFrom(
    'to',
    'ciphertext',
    'ids',
    'ids.0',
    'after',
    'limit',
    'agentId',
    '__proto__',
    'constructor',
    'constructor.prototype',
    '__proto__.polluted',
    'a.b.c',
    '',
    '0',
    '0.0',
  ),
  fc.string({ maxLength: 10 }),
);

const annotation = fc.oneof(
  fc.constantFrom<unknown>(
    ['undefined'],
    ['bigint'],
    ['Date'],
    ['regexp'],
    ['set'],
    ['map'],
    ['Error'],
    ['URL'],
    ['number'],
    ['symbol'],
    [['class', 'Foo']],
    [['custom', 'x']],
    [['typed-array', 'Uint8Array']],
    [['symbol', 'x']],
    ['map', { '0': ['map'] }],
  ),
  fc.jsonValue({ maxDepth: 2 }),
);

/** superjson texts whose `meta` does not describe their `json`, or is not superjson's at all. */
function brokenSuperjson(value: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  const meta = fc.oneof(
    fc.record(
      {
        values: fc.oneof(fc.dictionary(metaPath, annotation, { maxKeys: 3 }), annotation),
        referentialEqualities: fc.dictionary(metaPath, fc.array(metaPath, { maxLength: 2 }), {
          maxKeys: 2,
        }),
        v: fc.integer(),
      },
      { requiredKeys: [] },
    ),
    fc.jsonValue({ maxDepth: 2 }),
  );
  return fc.tuple(value, meta).map(([inner, junk]) => {
    const wire: unknown = JSON.parse(superjsonText(inner));
    const json = typeof wire === 'object' && wire !== null && 'json' in wire ? wire.json : null;
    return plainJson({ json, meta: junk });
  });
}

/** Text that is not JSON, or JSON nested far deeper than any input. */
const junkText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    '{',
    '[',
    'null',
    'undefined',
    '{"json":',
    '{"json":1}}',
    'NaN',
    '\u0000',
    '"',
  ),
  fc
    .tuple(fc.integer({ min: 1_000, max: 100_000 }), fc.constantFrom(['[', ']'], ['{"a":', '}']))
    .map(([depth, [open, close]]) => `{"json":${open.repeat(depth)}1${close.repeat(depth)}}`),
);

/** How an input travels: superjson (mostly), plain JSON, broken superjson, junk, or absent. */
export function inputText(value: fc.Arbitrary<unknown>): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 8, arbitrary: value.map(superjsonText) },
    { weight: 1, arbitrary: value.map(plainJson) },
    { weight: 1, arbitrary: brokenSuperjson(value) },
    { weight: 1, arbitrary: junkText },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

const batchExtraKeys = fc.array(
  fc.tuple(
    fc.constantFrom('-1', '01', '1.0', 'x', 'length', '__proto__', ' 0', '0 ', '1e0', '100', '101'),
    fc.jsonValue({ maxDepth: 1 }),
  ),
  { maxLength: 3 },
);

/**
 * The `input` of a batch: an object keyed by call index, with entries missing, extra or misnamed
 * keys, entries that are not superjson, or not an object at all.
 */
export function batchInputText(
  paths: readonly string[],
  maxMessageBytes: number,
): fc.Arbitrary<string | undefined> {
  // Long batches carry small entries: their point is the count, not megabytes of input.
  const value = (path: string): fc.Arbitrary<unknown> =>
    paths.length > 10 ? fc.constantFrom({}, { limit: 1 }) : inputValue(path, maxMessageBytes);
  const entry = (path: string): fc.Arbitrary<unknown> =>
    fc.oneof(
      {
        weight: 6,
        arbitrary: value(path).map((input) => JSON.parse(superjsonText(input)) as unknown),
      },
      { weight: 1, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    );
  const map = fc
    .tuple(
      fc.tuple(...paths.map(entry)),
      batchExtraKeys,
      fc.constantFrom('object', 'object', 'object', 'object', 'array', 'string', 'null', 'number'),
    )
    .map(([entries, extras, shape]) => {
      switch (shape) {
        case 'array':
          return plainJson(entries);
        case 'string':
          return plainJson('0');
        case 'null':
          return 'null';
        case 'number':
          return '0';
        case 'object':
          return plainJson(
            Object.fromEntries([
              ...extras,
              ...entries.flatMap((value, index) =>
                value === undefined ? [] : [[String(index), value] as const],
              ),
            ]),
          );
      }
    });
  return fc.oneof(
    { weight: 8, arbitrary: map },
    { weight: 1, arbitrary: junkText },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}
