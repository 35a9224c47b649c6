// Conformance: the rate-limit buckets every driver keeps — per client address (takeTokens) and per
// mailbox inside the atomic append — refuse past capacity, refill with time, and spend only on
// what they let through.
import { describe, expect, it } from 'vitest';
import { perMinute, type BucketRate } from '../../src/limits/token-bucket.js';
import type { AppendRate } from '../../src/store/mailbox-store.js';
import {
  expectStored,
  messageTo,
  newAgentId,
  registerNew,
  sleep,
  type SuiteContext,
} from './fixtures.js';

/** Two tokens, refilled in 300 ms: quick enough to watch a refill. */
const QUICK: BucketRate = { capacity: 2, perMs: 2 / 300 };
const NONE: BucketRate = { capacity: 0, perMs: 0 };

function rate(source: string, mailbox: BucketRate, sender: BucketRate): AppendRate {
  return { source, mailbox, sender };
}

export function describeRateLimits(context: SuiteContext): void {
  describe('rate limits', () => {
    it('takes tokens up to capacity, then tells how long until the next one', async () => {
      const store = await context.open();
      const address = `198.51.100.${String(Math.floor(Math.random() * 250))}`;
      const three = perMinute(3);
      expect(await store.takeTokens(address, 'calls', three)).toBe(0);
      expect(await store.takeTokens(address, 'calls', three, 2)).toBe(0);
      const wait = await store.takeTokens(address, 'calls', three);
      // One token of three a minute comes back in 20 s.
      expect(wait).toBeGreaterThan(19_000);
      expect(wait).toBeLessThanOrEqual(20_000);
      // Refused takes spend nothing, and buckets are per address and per name.
      expect(await store.takeTokens(address, 'calls', three)).toBeGreaterThan(19_000);
      expect(await store.takeTokens(address, 'registrations', three)).toBe(0);
      expect(await store.takeTokens(`${address}0`, 'calls', three)).toBe(0);
    });

    it('refills with time', async () => {
      const store = await context.open();
      const address = newAgentId('addr');
      expect(await store.takeTokens(address, 'calls', QUICK, 2)).toBe(0);
      const wait = await store.takeTokens(address, 'calls', QUICK);
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(150);
      await sleep(wait + 20);
      expect(await store.takeTokens(address, 'calls', QUICK)).toBe(0);
    });

    it('grants exactly the capacity to takes that race', async () => {
      const store = await context.open();
      const address = newAgentId('race');
      const waits = await Promise.all(
        Array.from({ length: 30 }, () => store.takeTokens(address, 'calls', perMinute(7))),
      );
      expect(waits.filter((wait) => wait === 0)).toHaveLength(7);
    });

    it('never refuses with an unlimited bucket', async () => {
      const store = await context.open();
      for (let i = 0; i < 5; i += 1) expect(await store.takeTokens('x', 'calls', NONE)).toBe(0);
    });

    it('limits what one mailbox accepts, and what it accepts from one address', async () => {
      const store = await context.open();
      const agentId = await registerNew(store);
      const mailbox = perMinute(3);
      const sender = perMinute(2);
      const fromA = rate('192.0.2.1', mailbox, sender);
      const fromB = rate('192.0.2.2', mailbox, sender);

      expectStored(await store.append(messageTo(agentId, { rate: fromA })));
      expectStored(await store.append(messageTo(agentId, { rate: fromA })));
      const refusedA = await store.append(messageTo(agentId, { rate: fromA }));
      expect(refusedA).toMatchObject({ status: 'rate-limited', limit: 'sender' });
      expect(refusedA.status === 'rate-limited' && refusedA.retryAfterMs).toBeGreaterThan(29_000);

      expectStored(await store.append(messageTo(agentId, { rate: fromB })));
      expect(await store.append(messageTo(agentId, { rate: fromB }))).toMatchObject({
        status: 'rate-limited',
        limit: 'mailbox',
      });
      expect((await store.counts(agentId)).count).toBe(3);
      // Another mailbox has its own buckets.
      const other = await registerNew(store);
      expectStored(await store.append(messageTo(other, { rate: fromB })));
    });

    it('spends nothing on duplicates, refusals and full mailboxes', async () => {
      const store = await context.open({ ttlSeconds: 3600, maxMessages: 1 });
      const agentId = await registerNew(store);
      const limit = rate('203.0.113.9', perMinute(2), NONE);
      const first = messageTo(agentId, { rate: limit });
      const stored = expectStored(await store.append(first));
      // A retry of the same message is answered, not counted.
      for (let i = 0; i < 3; i += 1)
        expect(await store.append(first)).toMatchObject({ status: 'duplicate', id: stored.id });
      // Full: refused by the quota, so still one token left for after the delete.
      expect(await store.append(messageTo(agentId, { rate: limit }))).toMatchObject({
        status: 'full',
      });
      expect(await store.delete(agentId, [stored.id])).toBe(1);
      expectStored(await store.append(messageTo(agentId, { rate: limit })));
    });

    it('accepts again once the mailbox bucket has refilled', async () => {
      const store = await context.open();
      const agentId = await registerNew(store);
      const limit = rate('192.0.2.7', QUICK, NONE);
      expectStored(await store.append(messageTo(agentId, { rate: limit })));
      expectStored(await store.append(messageTo(agentId, { rate: limit })));
      const refused = await store.append(messageTo(agentId, { rate: limit }));
      if (refused.status !== 'rate-limited')
        throw new Error(`expected rate-limited: ${refused.status}`);
      await sleep(refused.retryAfterMs + 20);
      expectStored(await store.append(messageTo(agentId, { rate: limit })));
    });
  });
}
