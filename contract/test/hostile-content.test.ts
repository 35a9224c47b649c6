// Hostile content inside validly sealed and signed envelopes (PROTOCOL §6): whatever inner bytes a
// sender signs, opening never throws and answers either the message or a typed failure.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_BODY_DEPTH,
  deriveAgentKeys,
  generateSeed,
  isJsonValue,
  jsonTextDepthWithin,
  openMessage,
  randomBytes,
  sealInnerBytes,
  sealMessage,
  toB64u,
  utf8,
  type JsonValue,
} from '../src/index.js';

const alice = { id: 'alice', keys: deriveAgentKeys(generateSeed()) };
const bob = { id: 'bob', keys: deriveAgentKeys(generateSeed()) };

/** An envelope from alice to bob around `inner` exactly as given, validly signed. */
function sealInner(inner: string | Uint8Array): string {
  const bytes = typeof inner === 'string' ? utf8(inner) : inner;
  return sealInnerBytes(bytes, { sender: alice.keys, recipient: bob.keys }).ciphertext;
}

/** A well-formed inner document from alice to bob with `fields` merged in. */
function innerJson(fields: Record<string, unknown>): string {
  return JSON.stringify({
    v: 1,
    id: toB64u(randomBytes(16)),
    kind: 'message',
    from: 'alice',
    fromKey: alice.keys.agentKey,
    to: 'bob',
    sentAt: Date.now(),
    body: 'hello',
    ...fields,
  });
}

function nested(depth: number, leaf: JsonValue = 1): JsonValue {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** Brackets as text, without building the value (a deep value cannot be stringified). */
function nestedText(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

describe('hostile inner documents', () => {
  it('reports 2,000 nested arrays in a signed body as bad-inner instead of throwing', () => {
    const ciphertext = sealInner(
      innerJson({ body: null }).replace('"body":null', `"body":${nestedText(2_000)}`),
    );
    expect(openMessage(ciphertext, 'bob', bob.keys)).toEqual({ ok: false, reason: 'bad-inner' });
  });

  it('opens a body nested exactly MAX_BODY_DEPTH deep and refuses one level more', () => {
    const atLimit = sealInner(
      innerJson({ body: null }).replace('"body":null', `"body":${nestedText(MAX_BODY_DEPTH)}`),
    );
    const opened = openMessage(atLimit, 'bob', bob.keys);
    expect(opened.ok).toBe(true);
    if (opened.ok) expect(depthOf(opened.message.body)).toBe(MAX_BODY_DEPTH);

    const past = sealInner(
      innerJson({ body: null }).replace('"body":null', `"body":${nestedText(MAX_BODY_DEPTH + 1)}`),
    );
    expect(openMessage(past, 'bob', bob.keys)).toEqual({ ok: false, reason: 'bad-inner' });
    // Objects count as arrays do.
    const objects = `${'{"a":'.repeat(MAX_BODY_DEPTH + 1)}1${'}'.repeat(MAX_BODY_DEPTH + 1)}`;
    const deepObjects = sealInner(
      innerJson({ body: null }).replace('"body":null', `"body":${objects}`),
    );
    expect(openMessage(deepObjects, 'bob', bob.keys)).toEqual({ ok: false, reason: 'bad-inner' });
  });

  it('ignores fields it does not know, and refuses known fields of the wrong type', () => {
    const extra = openMessage(
      sealInner(innerJson({ future: { nested: [1, 2] }, receipt: true })),
      'bob',
      bob.keys,
    );
    expect(extra.ok).toBe(true);
    if (extra.ok) expect(extra.message).not.toHaveProperty('future');

    for (const wrong of [
      { v: 2 },
      { id: 12345 },
      { kind: 'typing' },
      { from: 'Alice!' },
      { fromKey: 'x'.repeat(10_000) },
      { to: ['bob'] },
      { sentAt: -1 },
      { sentAt: 1.5 },
      { sentAt: '1764000000000' },
      { replyTo: 'not-an-id' },
      { body: undefined },
    ]) {
      expect(
        openMessage(sealInner(innerJson(wrong)), 'bob', bob.keys),
        JSON.stringify(wrong),
      ).toEqual({
        ok: false,
        reason: 'bad-inner',
      });
    }
  });

  it('refuses inner bytes that are not UTF-8, not JSON or not an object', () => {
    for (const inner of [
      new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]),
      utf8('{"v":1,'),
      utf8('[]'),
      utf8('null'),
      utf8('"x"'),
      new Uint8Array(0),
    ]) {
      expect(openMessage(sealInner(inner), 'bob', bob.keys)).toEqual({
        ok: false,
        reason: 'bad-inner',
      });
    }
  });

  it('never throws for any JSON inner document, at any depth', () => {
    const anyJson = fc.oneof(
      fc.jsonValue({ maxDepth: 8 }),
      fc.integer({ min: 0, max: 3_000 }).map((depth) => ({ deep: depth })),
    );
    fc.assert(
      fc.property(anyJson, fc.boolean(), (value, asWhole) => {
        const text =
          typeof value === 'object' &&
          value !== null &&
          'deep' in value &&
          typeof value.deep === 'number'
            ? nestedText(value.deep)
            : JSON.stringify(value);
        const inner = asWhole
          ? text
          : innerJson({ body: null }).replace('"body":null', `"body":${text}`);
        const opened = openMessage(sealInner(inner), 'bob', bob.keys);
        expect(opened.ok || opened.reason === 'bad-inner').toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('never throws for arbitrary bytes as the inner document', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4_096 }), (bytes) => {
        const opened = openMessage(sealInner(bytes), 'bob', bob.keys);
        expect(opened).toEqual({ ok: false, reason: 'bad-inner' });
      }),
      { numRuns: 200 },
    );
  });

  it('never throws for arbitrary ciphertext strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), (text) => {
        const opened = openMessage(text, 'bob', bob.keys);
        expect(opened.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

/** An array with a hole, which JSON.stringify would fill with null. */
function sparse(): unknown[] {
  const array: unknown[] = [1];
  array[2] = 2;
  return array;
}

describe('senders', () => {
  it('refuse to seal a body past MAX_BODY_DEPTH or that is not plain JSON', () => {
    const seal = (body: unknown) =>
      sealMessage({
        from: 'alice',
        sender: alice.keys,
        to: 'bob',
        recipient: bob.keys,
        body: body as JsonValue,
      });
    expect(() => seal(nested(MAX_BODY_DEPTH))).not.toThrow();
    expect(() => seal(nested(MAX_BODY_DEPTH + 1))).toThrow(/nesting at most 64/);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const bad of [
      cycle,
      Number.NaN,
      Infinity,
      undefined,
      { a: undefined },
      new Date(0),
      sparse(),
      () => 1,
      10n,
    ]) {
      expect(() => seal(bad)).toThrow(TypeError);
    }
  });
});

describe('JSON bounds', () => {
  it('isJsonValue accepts exactly the JSON values within the depth', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 0, max: 6 }), (value, max) => {
        expect(isJsonValue(value, max)).toBe(depthOf(value) <= max);
      }),
    );
  });

  it('jsonTextDepthWithin agrees with the parsed depth, strings with brackets included', () => {
    const tricky = fc
      .jsonValue({ maxDepth: 6 })
      .map((value) => [value, '[[{"\\"]]', { '}{': '][' }, 'ends in \\', '\\"[\\\\']);
    fc.assert(
      fc.property(tricky, fc.integer({ min: 0, max: 9 }), (value, max) => {
        expect(jsonTextDepthWithin(JSON.stringify(value), max)).toBe(depthOf(value) <= max);
      }),
    );
  });
});
