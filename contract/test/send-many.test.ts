// The v1.1 group send as the contract states it (PROTOCOL §8), and how a client reads a relay's
// `info` for it: a relay that leaves `protocol` or `maxBatchBytes` out speaks v1 only.
import { describe, expect, it } from 'vitest';
import { toB64u } from '../src/encoding/b64u.js';
import { DEFAULT_LIMITS, batchBytesLimit, type Limits } from '../src/limits.js';
import { procedures } from '../src/procedures.js';
import { PROTOCOL_VERSIONS, infoOutput, relaySpeaks } from '../src/schemas/procedures.js';

/** A well-formed envelope as the relay's schema sees it: version 0x01, 169 bytes. */
const ciphertext = toB64u(Uint8Array.from({ length: 169 }, (_, i) => (i === 0 ? 1 : i % 251)));
const item = (to: string) => ({ to, ciphertext });
const recipients = (count: number) => Array.from({ length: count }, (_, n) => item(`agent-${n}`));

describe('sendMany input', () => {
  const input = procedures.sendMany.input;

  it('takes 1–100 items, each exactly a send input', () => {
    expect(input.safeParse({ items: recipients(1) }).success).toBe(true);
    expect(input.safeParse({ items: recipients(100) }).success).toBe(true);
    expect(input.safeParse({ items: [] }).success).toBe(false);
    expect(input.safeParse({ items: recipients(101) }).success).toBe(false);
    expect(
      input.safeParse({ items: [{ ...item('bob'), idempotencyKey: 'k'.repeat(22) }] }).success,
    ).toBe(true);
    expect(input.safeParse({ items: [{ ...item('bob'), ciphertext: 'AQ' }] }).success).toBe(false);
  });

  it('refuses a recipient named twice, pointing at the repeat', () => {
    const parsed = input.safeParse({ items: [item('bob'), item('carol'), item('bob')] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path)).toEqual([['items', 2, 'to']]);
  });
});

describe('sendMany output', () => {
  const output = procedures.sendMany.output;
  const stored = { to: 'bob', ok: true, id: '1-0', receivedAt: 1, expiresAt: 2, duplicate: false };
  const refused = {
    to: 'carol',
    ok: false,
    code: 'NOT_FOUND',
    reason: 'AGENT_NOT_FOUND',
    message: 'no agent is registered under that id: "carol"',
  };

  it('is one result per item, stored or refused by `ok`', () => {
    expect(output.parse({ results: [stored, refused] }).results).toEqual([stored, refused]);
    // A stored result without its id, or a refusal without its reason, is not a result.
    expect(output.safeParse({ results: [{ ...stored, id: undefined }] }).success).toBe(false);
    expect(output.safeParse({ results: [{ ...refused, reason: undefined }] }).success).toBe(false);
    expect(output.safeParse({ results: [{ ...refused, ok: true }] }).success).toBe(false);
  });

  it('keeps reading a reason newer than this catalogue, within bounds', () => {
    expect(output.safeParse({ results: [{ ...refused, reason: 'SOME_NEW_REASON' }] }).success).toBe(
      true,
    );
    expect(output.safeParse({ results: [{ ...refused, reason: 'x'.repeat(65) }] }).success).toBe(
      false,
    );
  });
});

describe('a relay’s info read for v1.1', () => {
  const honest = { relayId: 'r', version: '1', limits: DEFAULT_LIMITS, rateLimits: {} };
  const v1Limits: Limits = { ...DEFAULT_LIMITS, maxBatchBytes: undefined };

  it('reads a v1 relay that names no protocol as speaking v1 only', () => {
    const v1 = infoOutput.safeParse({
      ...honest,
      limits: v1Limits,
      rateLimits: {
        requestsPerSecond: 1,
        requestBurst: 1,
        subscriptionsPerMinute: 1,
        mailboxMessagesPerMinute: 1,
        senderMessagesPerMinute: 1,
        registrationsPerMinute: 1,
      },
    });
    expect(v1.success).toBe(true);
    expect(v1.data && relaySpeaks(v1.data, 'v1')).toBe(true);
    expect(v1.data && relaySpeaks(v1.data, 'v1.1')).toBe(false);
  });

  it('reads a v1.1 relay, versions it does not know included', () => {
    expect(relaySpeaks({ protocol: [...PROTOCOL_VERSIONS] }, 'v1.1')).toBe(true);
    expect(relaySpeaks({ protocol: ['v1', 'v1.1', 'v9'] }, 'v1.1')).toBe(true);
    expect(relaySpeaks({ protocol: ['v1'] }, 'v1.1')).toBe(false);
  });

  it('takes maxBatchBytes as stated, else 4 × maxMessageBytes', () => {
    expect(batchBytesLimit({ ...DEFAULT_LIMITS, maxBatchBytes: 5000 })).toBe(5000);
    expect(batchBytesLimit({ ...v1Limits, maxMessageBytes: 1000 })).toBe(4000);
  });
});
