// Wake-up notice signatures (PROTOCOL §9): the v1.1 known answers, then tamper and clock checks.
import { describe, expect, it } from 'vitest';
import vectors from './fixtures/vectors-v1.1.json' with { type: 'json' };
import {
  encodeWebhookNotice,
  hookSecretSchema,
  hookSetInput,
  signWebhookNotice,
  verifyWebhookNotice,
  WEBHOOK_TOLERANCE_MS,
} from '../src/index.js';

const SECRET = 'a-secret-of-at-least-32-printable-chars';

describe('webhook signatures', () => {
  it.each(vectors.webhookSignatures)('signs the vector to its exact header', (vector) => {
    expect(signWebhookNotice(vector.secret, vector.timestamp, vector.body)).toBe(vector.header);
  });

  it.each(vectors.webhookSignatures)('verifies the vector at its own time', (vector) => {
    const result = verifyWebhookNotice({
      secret: vector.secret,
      body: vector.body,
      header: vector.header,
      now: Number(vector.timestamp) + 1_000,
    });
    const expected: unknown = JSON.parse(vector.body);
    expect(result).toEqual({ ok: true, notice: expected });
  });

  it('encodes a notice to the body the vector signs', () => {
    const [vector] = vectors.webhookSignatures;
    if (vector === undefined) throw new Error('no webhook vector');
    const notice: unknown = JSON.parse(vector.body);
    expect(encodeWebhookNotice(notice as never)).toBe(vector.body);
  });

  const now = 1_764_000_000_123;
  const body = encodeWebhookNotice({ agentId: 'bob', relayId: 'r1', newestId: '5-0', ts: now });
  const header = signWebhookNotice(SECRET, now, body);

  it('refuses another secret, an altered body and an altered timestamp', () => {
    expect(verifyWebhookNotice({ secret: `${SECRET}x`, body, header, now })).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    const altered = body.replace('5-0', '6-0');
    expect(verifyWebhookNotice({ secret: SECRET, body: altered, header, now }).ok).toBe(false);
    const shifted = header.replace(`t=${now}`, `t=${now + 1}`);
    expect(verifyWebhookNotice({ secret: SECRET, body, header: shifted, now })).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
  });

  it.each([
    undefined,
    '',
    'v1=00,t=1',
    `${header},v1=${'0'.repeat(64)}`,
    ` ${header}`,
    header.toUpperCase(),
    header.replace('t=', 't=0'),
    header.slice(0, -1),
  ])('parses the header strictly: %j', (candidate) => {
    expect(verifyWebhookNotice({ secret: SECRET, body, header: candidate, now })).toEqual({
      ok: false,
      reason: 'malformed-header',
    });
  });

  it('accepts ts within the tolerance only (default 5 minutes, either side)', () => {
    const at = (offset: number, toleranceMs?: number) =>
      verifyWebhookNotice({ secret: SECRET, body, header, now: now + offset, toleranceMs }).ok;
    expect(at(WEBHOOK_TOLERANCE_MS)).toBe(true);
    expect(at(-WEBHOOK_TOLERANCE_MS)).toBe(true);
    expect(at(WEBHOOK_TOLERANCE_MS + 1)).toBe(false);
    expect(at(-WEBHOOK_TOLERANCE_MS - 1)).toBe(false);
    expect(at(2_000, 1_000)).toBe(false);
    expect(verifyWebhookNotice({ secret: SECRET, body, header, now: now + 10 * 60_000 })).toEqual({
      ok: false,
      reason: 'stale',
    });
  });

  it('refuses a signed body that is not a notice or whose ts differs from the header', () => {
    const extra = JSON.stringify({ agentId: 'bob', relayId: 'r1', newestId: '5-0', ts: now, c: 1 });
    const other = encodeWebhookNotice({ agentId: 'bob', relayId: 'r1', newestId: '5-0', ts: 7 });
    for (const signed of [extra, other, 'not json'])
      expect(
        verifyWebhookNotice({
          secret: SECRET,
          body: signed,
          header: signWebhookNotice(SECRET, now, signed),
          now,
        }),
      ).toEqual({ ok: false, reason: 'bad-body' });
  });
});

describe('hook inputs', () => {
  it('takes secrets of 32–128 printable ASCII characters only', () => {
    expect(hookSecretSchema.safeParse('x'.repeat(32)).success).toBe(true);
    expect(hookSecretSchema.safeParse('~'.repeat(128)).success).toBe(true);
    expect(hookSecretSchema.safeParse('x'.repeat(31)).success).toBe(false);
    expect(hookSecretSchema.safeParse('x'.repeat(129)).success).toBe(false);
    expect(hookSecretSchema.safeParse(`${'x'.repeat(32)}\n`).success).toBe(false);
    expect(hookSecretSchema.safeParse(`${'x'.repeat(32)}é`).success).toBe(false);
  });

  it.each([
    ['https://hooks.example.com/wake', true],
    ['http://127.0.0.1:8080/wake', true],
    ['ftp://hooks.example.com/', false],
    ['hooks.example.com/wake', false],
    ['https://user:pass@hooks.example.com/', false],
    ['https://hooks.example.com/#frag', false],
    [`https://hooks.example.com/${'a'.repeat(2048)}`, false],
  ])('url %s → %s', (url, accepted) => {
    expect(hookSetInput.safeParse({ url, secret: SECRET }).success).toBe(accepted);
  });
});
