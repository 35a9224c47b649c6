// The plaintext limits (PROTOCOL §2, §6) are exact: a body of exactly the limit seals to at most
// maxMessageBytes, one byte more seals to more.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  b64uLength,
  deriveAgentKeys,
  generateSeed,
  largestBody,
  largestInner,
  padLen,
  sealMessage,
  sealedBytesFor,
  toB64u,
  type BodyLimitFields,
} from '../src/index.js';

const alice = deriveAgentKeys(generateSeed());
const bob = deriveAgentKeys(generateSeed());
const SENT_AT = 1_764_000_000_000;

function sealedSize(fields: BodyLimitFields, body: string): number {
  return sealMessage(
    {
      from: fields.from ?? 'alice',
      sender: alice,
      to: fields.to ?? 'bob',
      recipient: bob,
      body,
      ...(fields.contentType === undefined ? {} : { contentType: fields.contentType }),
      ...(fields.filename === undefined ? {} : { filename: fields.filename }),
      ...(fields.replyTo === undefined ? {} : { replyTo: fields.replyTo }),
      ...(fields.threadId === undefined ? {} : { threadId: fields.threadId }),
      ...(fields.receipt === undefined ? {} : { receipt: fields.receipt }),
    },
    { sentAt: SENT_AT },
  ).bytes;
}

const fileBody = (n: number) => toB64u(new Uint8Array(n).fill(0xa5));

describe('largestInner and sealedBytesFor', () => {
  it('agree with padLen at every step', () => {
    expect(sealedBytesFor(0)).toBe(73 + padLen(68));
    for (const limit of [169, 200, 300, 1000, 2048, 4096, 65_536, 1_048_576]) {
      const n = largestInner(limit);
      expect(sealedBytesFor(n)).toBeLessThanOrEqual(limit);
      expect(sealedBytesFor(n + 1)).toBeGreaterThan(limit);
    }
    expect(largestInner(168)).toBe(-1);
  });
});

describe('largestBody', () => {
  const uid = toB64u(new Uint8Array(16).fill(3));
  const cases: { limit: number; fields: BodyLimitFields }[] = [
    { limit: 2048, fields: { from: 'alice', to: 'bob' } },
    { limit: 1_048_576, fields: { from: 'alice', to: 'bob', contentType: 'application/pdf' } },
    {
      limit: 65_536,
      fields: {
        from: 'alice',
        to: 'bob',
        contentType: 'image/png',
        filename: 'ünï.png',
        replyTo: uid,
        threadId: uid,
        receipt: true,
      },
    },
  ];

  it.each(cases)('is exact for files and text under $limit', ({ limit, fields }) => {
    const limits = largestBody(limit, { ...fields, sentAt: SENT_AT });
    const contentType = fields.contentType ?? 'application/octet-stream';
    const file = { ...fields, contentType };
    expect(sealedSize(file, fileBody(limits.fileBytes))).toBeLessThanOrEqual(limit);
    expect(sealedSize(file, fileBody(limits.fileBytes + 1))).toBeGreaterThan(limit);

    const text = { ...fields, contentType: undefined, filename: undefined };
    expect(sealedSize(text, 'é'.repeat(limits.textBytes / 2))).toBeLessThanOrEqual(limit);
    expect(sealedSize(text, 'x'.repeat(limits.textBytes))).toBeLessThanOrEqual(limit);
    expect(sealedSize(text, 'x'.repeat(limits.textBytes + 1))).toBeGreaterThan(limit);
    expect(limits.jsonBytes).toBe(limits.textBytes + 2);
  });

  it('is exact for any limit and any ids', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 400, max: 20_000 }),
        fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,63}$/),
        (limit, to) => {
          const fields = { from: 'alice', to, sentAt: SENT_AT, contentType: 'text/csv' };
          const { fileBytes, textBytes } = largestBody(limit, fields);
          expect(sealedSize(fields, fileBody(fileBytes))).toBeLessThanOrEqual(limit);
          expect(sealedSize(fields, fileBody(fileBytes + 1))).toBeGreaterThan(limit);
          const text = { from: 'alice', to };
          expect(sealedSize(text, 'x'.repeat(textBytes))).toBeLessThanOrEqual(limit);
          expect(sealedSize(text, 'x'.repeat(textBytes + 1))).toBeGreaterThan(limit);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('holds for every sender and recipient when they are not named', () => {
    const general = largestBody(4096, { sentAt: SENT_AT });
    const longest = { from: 'a'.repeat(64), to: 'b'.repeat(64) };
    expect(
      sealedSize(
        { ...longest, contentType: 'application/octet-stream' },
        fileBody(general.fileBytes),
      ),
    ).toBeLessThanOrEqual(4096);
    expect(general.fileBytes).toBeLessThan(
      largestBody(4096, { from: 'a', to: 'b', sentAt: SENT_AT }).fileBytes,
    );
  });

  it('says 0 when nothing fits', () => {
    expect(
      largestBody(200, { from: 'alice', to: 'bob', filename: 'x'.repeat(200), contentType: 'a/b' })
        .fileBytes,
    ).toBe(0);
    expect(largestBody(100)).toEqual({ fileBytes: 0, textBytes: 0, jsonBytes: 0 });
  });

  it('counts base64url characters without padding', () => {
    for (let n = 0; n < 50; n++) expect(b64uLength(n)).toBe(toB64u(new Uint8Array(n)).length);
  });
});
