// fast-check arbitraries for the fuzz suite's procedure paths and input values: for each procedure,
// records whose fields are right, almost right, of the wrong type or hostile (huge, deeply nested,
// values only superjson carries). fuzz-encodings.ts puts them on the wire.
import fc from 'fast-check';
import {
  AGENT_ID_PATTERN,
  IDEMPOTENCY_KEY_PATTERN,
  MESSAGE_ID_PATTERN,
  listProcedures,
  toB64u,
  type ProcedureDefinition,
} from '@deaddrop/contract';

export const DEFINITIONS: ReadonlyMap<string, ProcedureDefinition> = new Map(
  listProcedures().map(({ path, definition }) => [path, definition]),
);
const PROCEDURE_PATHS: readonly string[] = [...DEFINITIONS.keys()];

/** Near misses and names that exist on every object. */
const MANGLED_PATHS = [
  '',
  'directory',
  'directory.',
  '.info',
  'info.',
  'Info',
  'POLL',
  'directory.lookup.x',
  'directory..lookup',
  'inbox.after',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'directory.__proto__',
  '__proto__.info',
  '..',
  '%2e%2e',
  '%',
  '%zz',
  '%E0%A4%A',
  'po%6cl',
  'info%00',
  'stats%2Cpoll',
];
// Characters node:http accepts in a path, without `/`, `?`, `#` and `,` (batches are built apart).
const PATH_CHARS =
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-~!$&'()*+;=:@%";

export const pathArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...PROCEDURE_PATHS) },
  { weight: 2, arbitrary: fc.constantFrom(...MANGLED_PATHS) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.constantFrom(...Array.from(PATH_CHARS)), maxLength: 24 }),
  },
);

/** Values superjson carries beyond JSON. */
const exoticValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.bigInt(),
  fc.date({ noInvalidDate: false }),
  fc.constantFrom(NaN, Infinity, -Infinity, -0),
  fc.constant(/a+$/giu),
  fc.array(fc.integer(), { maxLength: 3 }).map((items) => new Set(items)),
  fc.array(fc.tuple(fc.string(), fc.integer()), { maxLength: 3 }).map((pairs) => new Map(pairs)),
  fc.string().map((message) => new Error(message)),
);

const hugeString = fc.integer({ min: 5_000, max: 300_000 }).map((length) => 'x'.repeat(length));

const deepValue = fc.integer({ min: 50, max: 2_000 }).map((depth) => {
  let value: unknown = 0;
  for (let level = 0; level < depth; level++) value = [value];
  return value;
});

export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: exoticValue },
  {
    weight: 2,
    arbitrary: fc.anything({
      maxDepth: 2,
      maxKeys: 4,
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
    }),
  },
  { weight: 1, arbitrary: hugeString },
  { weight: 1, arbitrary: deepValue },
);

/** Mostly `valid`, sometimes a listed near miss, sometimes anything at all. */
function field(
  valid: fc.Arbitrary<unknown>,
  nearMisses: readonly unknown[],
): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: valid },
    { weight: 2, arbitrary: fc.constantFrom(...nearMisses) },
    { weight: 1, arbitrary: anyValue },
  );
}

export const validAgentId = fc.stringMatching(AGENT_ID_PATTERN);
export const validMessageId = fc.stringMatching(MESSAGE_ID_PATTERN);

const agentIdField = field(
  fc.oneof(validAgentId, fc.constantFrom('alice', 'bob', 'mallory', 'ghost')),
  [
    '',
    'Alice',
    '-bob',
    '.bob',
    '_bob',
    'bob ',
    ' bob',
    'bob\n',
    'böb',
    '😀',
    'a/b',
    'a,b',
    'a'.repeat(65),
    'bob\u0000',
  ],
);

const messageIdField = field(validMessageId, [
  '',
  '0',
  '1-',
  '-1',
  '01-1',
  '1-01',
  '1--1',
  '1-1-1',
  'a-b',
  ' 1-1',
  '1-1 ',
  '1_1',
  '1e3-0',
  '0x1-0',
  '12345678901234567-0',
  '١-١',
  '1-1\u0000',
  'Infinity-0',
  '-0-0',
]);

const numberField = field(fc.integer({ min: -5, max: 200 }), [
  0,
  -1,
  1.5,
  -0,
  NaN,
  Infinity,
  2 ** 53,
  2 ** 53 + 2,
  1e308,
  '50',
  true,
  null,
]);

function b64uField(bytes: number): fc.Arbitrary<unknown> {
  const exact = fc.uint8Array({ minLength: bytes, maxLength: bytes }).map(toB64u);
  return fc.oneof(
    { weight: 3, arbitrary: exact },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: bytes * 2 }).map(toB64u) },
    { weight: 1, arbitrary: exact.map((text) => `${text}=`) },
    { weight: 1, arbitrary: exact.map((text) => text.replace(/.$/, '+')) },
    { weight: 1, arbitrary: anyValue },
  );
}

// Ed25519's identity point and an all-zero X25519 key: both of small order.
const WEAK_KEY = `ddk1_${toB64u(Uint8Array.of(1, ...new Uint8Array(63)))}`;

const agentKeyField = field(
  fc.uint8Array({ minLength: 64, maxLength: 64 }).map((bytes) => `ddk1_${toB64u(bytes)}`),
  [WEAK_KEY, 'ddk1_', 'ddk2_AAAA', `ddk1_${'A'.repeat(87)}`, `DDK1_${'A'.repeat(86)}`],
);

/** `version || rest` as b64u, `length` bytes in all. */
function envelope(minLength: number, maxLength: number, version = 1): fc.Arbitrary<string> {
  return fc
    .uint8Array({ minLength: minLength - 1, maxLength: maxLength - 1 })
    .map((rest) => toB64u(Uint8Array.of(version, ...rest)));
}

/** Envelopes right and wrong: sizes around the limits, bad versions, broken base64url. */
function ciphertextField(maxMessageBytes: number): fc.Arbitrary<unknown> {
  const valid = fc.oneof(
    { weight: 3, arbitrary: envelope(169, 1_200) },
    { weight: 1, arbitrary: envelope(177, 1_200, 2) },
  );
  const insert = (text: string, at: number, what: string): string =>
    text.slice(0, at % (text.length + 1)) + what + text.slice(at % (text.length + 1));
  return fc.oneof(
    { weight: 4, arbitrary: valid },
    { weight: 1, arbitrary: envelope(maxMessageBytes, maxMessageBytes) },
    { weight: 1, arbitrary: envelope(maxMessageBytes + 1, maxMessageBytes + 64) },
    { weight: 1, arbitrary: envelope(1, 168) },
    // Long enough for v1, short of the v2 minimum.
    { weight: 1, arbitrary: envelope(169, 176, 2) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 0, max: 255 })
        .filter((version) => version !== 1)
        .chain((version) => envelope(169, 400, version)),
    },
    { weight: 1, arbitrary: valid.map((text) => `${text}=`) },
    { weight: 1, arbitrary: valid.map((text) => `${text}A`) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(valid, fc.nat(), fc.constantFrom('+', '/', ' ', '\n', '=', 'é', '\u0000', '%'))
        .map(([text, at, what]) => insert(text, at, what)),
    },
    {
      // 3k + 1 bytes end in two characters whose low bits must be zero: make them not.
      weight: 1,
      arbitrary: envelope(170, 170).map((text) => `${text.slice(0, -1)}B`),
    },
    { weight: 1, arbitrary: anyValue },
  );
}

const idempotencyKeyField = field(fc.stringMatching(IDEMPOTENCY_KEY_PATTERN), [
  'short',
  'a'.repeat(65),
  `${'a'.repeat(21)} `,
  `${'a'.repeat(21)}=`,
  `${'a'.repeat(21)}+`,
]);

/** Extra keys beside the schema's, some of them names with a meaning elsewhere. */
const extraKeys = fc.dictionary(
  fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.constantFrom('__proto__', 'constructor', 'json', 'meta'),
  ),
  anyValue,
  { maxKeys: 2 },
);

function withExtras(record: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: record },
    {
      weight: 1,
      arbitrary: fc.tuple(record, extraKeys).map(([fields, extras]) => ({ ...extras, ...fields })),
    },
  );
}

function sendFields(maxMessageBytes: number): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(
    {
      to: agentIdField,
      ciphertext: ciphertextField(maxMessageBytes),
      idempotencyKey: idempotencyKeyField,
    },
    { requiredKeys: [] },
  );
}

function fieldsFor(path: string, maxMessageBytes: number): fc.Arbitrary<Record<string, unknown>> {
  const optional = { requiredKeys: [] as [] };
  switch (path) {
    case 'send':
      return sendFields(maxMessageBytes);
    case 'sendMany':
      // Few items (repeated recipients among them), none, past the limit, or anything at all.
      return fc.record(
        {
          items: fc.oneof(
            {
              weight: 4,
              arbitrary: fc.array(withExtras(sendFields(maxMessageBytes)), { maxLength: 4 }),
            },
            {
              weight: 1,
              arbitrary: sendFields(maxMessageBytes).map((item) => [item, item]),
            },
            {
              weight: 1,
              arbitrary: fc.array(sendFields(maxMessageBytes), { minLength: 99, maxLength: 102 }),
            },
            { weight: 1, arbitrary: anyValue },
          ),
        },
        optional,
      );
    case 'directory.register':
      return fc.record(
        {
          agentId: agentIdField,
          agentKey: agentKeyField,
          ts: field(fc.constant(Date.now()), [-1, 0, 1.5, 2 ** 60, '1']),
          sig: b64uField(64),
        },
        optional,
      );
    case 'directory.rotate':
      return fc.record(
        {
          agentId: agentIdField,
          newKey: agentKeyField,
          ts: field(fc.constant(Date.now()), [-1, 0, 1.5, 2 ** 60, '1']),
          sigOld: b64uField(64),
          sigNew: b64uField(64),
        },
        optional,
      );
    case 'directory.lookup':
    case 'directory.claimPrekey':
      return fc.record({ agentId: agentIdField }, optional);
    case 'directory.publishPrekeys': {
      const prekey = fc.record(
        { id: b64uField(8), key: b64uField(32), sig: b64uField(64) },
        optional,
      );
      // None, a few (repeats among them), past the 100 a call may carry, or anything at all.
      return fc.record(
        {
          prekeys: fc.oneof(
            { weight: 4, arbitrary: fc.array(withExtras(prekey), { maxLength: 4 }) },
            { weight: 1, arbitrary: prekey.map((one) => [one, one]) },
            { weight: 1, arbitrary: fc.array(prekey, { minLength: 99, maxLength: 102 }) },
            { weight: 1, arbitrary: anyValue },
          ),
        },
        optional,
      );
    }
    case 'poll':
      return fc.record(
        { after: messageIdField, limit: numberField, waitMs: numberField },
        optional,
      );
    case 'delete':
      return fc.record(
        {
          ids: fc.oneof(
            { weight: 4, arbitrary: fc.array(messageIdField, { maxLength: 8 }) },
            { weight: 1, arbitrary: fc.array(validMessageId, { minLength: 95, maxLength: 110 }) },
            { weight: 1, arbitrary: anyValue },
          ),
        },
        optional,
      );
    case 'inbox':
      return fc.record(
        { after: messageIdField, lastEventId: fc.oneof(messageIdField, fc.constant(null)) },
        optional,
      );
    default:
      return fc.dictionary(fc.string({ maxLength: 8 }), anyValue, { maxKeys: 3 });
  }
}

/** An input value for the procedure at `path` (or for whatever a mangled path names). */
export function inputValue(path: string, maxMessageBytes: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 6, arbitrary: withExtras(fieldsFor(path, maxMessageBytes)) },
    { weight: 1, arbitrary: anyValue },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}
