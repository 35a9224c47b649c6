// Conformance: TTL expiry and sweep, the quota under concurrency, idempotency, proof nonces.
import { sha256Hex } from '@deaddrop/contract';
import { describe, expect, it } from 'vitest';
import {
  agentRecord,
  appendMany,
  expectStored,
  idempotencyKey,
  messageTo,
  registerNew,
  registerRecord,
  sleepUntil,
  type SuiteContext,
} from './fixtures.js';

export function describeLimits(context: SuiteContext): void {
  describe('limits', () => {
    it('expires messages after ttlSeconds: not read, not counted, not in the quota, swept', async () => {
      const store = await context.open({ ttlSeconds: 1, maxMessages: 2 });
      const quota = await registerNew(store, 'quota');
      const counted = await registerNew(store, 'counted');
      const idle = await registerNew(store, 'idle');
      await appendMany(store, quota, 2);
      await appendMany(store, counted, 2);
      const last = (await appendMany(store, idle, 2)).at(-1);
      expect(await store.append(messageTo(quota))).toEqual({ status: 'full', count: 2 });

      await sleepUntil(last?.expiresAt ?? 0);

      expect(await store.read(quota, '0-0', 10)).toEqual([]);
      expect(await store.read(idle, '0-0', 10)).toEqual([]);
      expect(await store.counts(counted)).toEqual({
        count: 0,
        bytes: 0,
        oldestId: null,
        newestId: null,
      });
      const fresh = expectStored(await store.append(messageTo(quota, { bytes: 321 })));
      expect(await store.counts(quota)).toEqual({
        count: 1,
        bytes: 321,
        oldestId: fresh.id,
        newestId: fresh.id,
      });

      // `counts` and `append` already trimmed their mailboxes; only the idle one is left to sweep.
      expect(await store.sweepExpired()).toBe(2);
      expect(await store.sweepExpired()).toBe(0);
      expect((await store.read(quota, '0-0', 10)).map((message) => message.id)).toEqual([fresh.id]);
    });

    it('refuses appends beyond the quota without dropping anything', async () => {
      const store = await context.open({ ttlSeconds: 3600, maxMessages: 3 });
      const agentId = await registerNew(store);
      const stored = await appendMany(store, agentId, 3);
      expect(await store.append(messageTo(agentId))).toEqual({ status: 'full', count: 3 });
      expect((await store.read(agentId, '0-0', 10)).map((message) => message.id)).toEqual(
        stored.map((m) => m.id),
      );

      expect(await store.delete(agentId, [stored[0]?.id ?? ''])).toBe(1);
      expectStored(await store.append(messageTo(agentId)));
      expect(await store.append(messageTo(agentId))).toEqual({ status: 'full', count: 3 });
    });

    it('never overshoots the quota when 50 appends race for the last 5 slots', async () => {
      const store = await context.open({ ttlSeconds: 3600, maxMessages: 20 });
      const agentId = await registerNew(store);
      await Promise.all(Array.from({ length: 15 }, () => store.append(messageTo(agentId))));

      const outcomes = await Promise.all(
        Array.from({ length: 50 }, () => store.append(messageTo(agentId))),
      );
      const statuses = outcomes.map((outcome) => outcome.status);
      expect(statuses.filter((status) => status === 'stored')).toHaveLength(5);
      expect(statuses.filter((status) => status === 'full')).toHaveLength(45);
      for (const outcome of outcomes) if (outcome.status === 'full') expect(outcome.count).toBe(20);
      expect((await store.counts(agentId)).count).toBe(20);
      expect(await store.read(agentId, '0-0', 100)).toHaveLength(20);
    });

    it('answers a retried append with the first result and refuses a reused key', async () => {
      const store = await context.open();
      const agentId = await registerNew(store);
      const input = messageTo(agentId);
      const first = expectStored(await store.append(input));

      expect(await store.append(input)).toEqual({ ...first, status: 'duplicate' });
      const otherCiphertext = messageTo(agentId).ciphertext;
      expect(
        await store.append({
          ...input,
          ciphertext: otherCiphertext,
          ciphertextHash: sha256Hex(otherCiphertext),
        }),
      ).toEqual({ status: 'conflict' });
      expect((await store.counts(agentId)).count).toBe(1);

      // Same ciphertext under a fresh key is a new message.
      expectStored(await store.append({ ...input, idempotencyKey: idempotencyKey() }));
      // The record outlives the message it points to.
      expect(await store.delete(agentId, [first.id])).toBe(1);
      expect(await store.append(input)).toEqual({ ...first, status: 'duplicate' });
      expect((await store.counts(agentId)).count).toBe(1);
    });

    it('answers a re-sent append under a relay-made key and its marker as a duplicate', async () => {
      const store = await context.open();
      const agentId = await registerNew(store);
      // As send.ts makes them: a tag and a counter, and a marker that is not a SHA-256 hex (one
      // with a space too, since the stores must not assume any shape).
      const tag = idempotencyKey();
      for (const [count, marker] of ['relay-key', 'relay key'].entries()) {
        const input = messageTo(agentId, {
          idempotencyKey: `${tag}.${count.toString(36)}`,
          ciphertextHash: marker,
        });
        const first = expectStored(await store.append(input));
        expect(await store.append(input)).toEqual({ ...first, status: 'duplicate' });
        expect(
          await store.append({ ...input, ciphertextHash: sha256Hex(input.ciphertext) }),
        ).toEqual({ status: 'conflict' });
      }
      expect((await store.counts(agentId)).count).toBe(2);
      expect(await store.read(agentId, '0-0', 10)).toHaveLength(2);
    });

    it('stores a message once when the same append races with itself', async () => {
      const store = await context.open();
      const agentId = await registerNew(store);
      const input = messageTo(agentId);
      const outcomes = await Promise.all(Array.from({ length: 10 }, () => store.append(input)));
      const stored = outcomes.filter((outcome) => outcome.status === 'stored');
      expect(stored).toHaveLength(1);
      const [first] = stored;
      if (first === undefined) throw new Error('nothing stored');
      const message = expectStored(first);
      for (const outcome of outcomes) {
        expect(outcome).toEqual(
          outcome.status === 'stored'
            ? { ...message, status: 'stored', hooked: false }
            : { ...message, status: 'duplicate' },
        );
      }
      expect((await store.counts(agentId)).count).toBe(1);
    });

    it('keeps idempotency per mailbox', async () => {
      const store = await context.open();
      const a = await registerNew(store);
      const b = await registerNew(store);
      const key = idempotencyKey();
      expectStored(await store.append(messageTo(a, { idempotencyKey: key })));
      expectStored(await store.append(messageTo(b, { idempotencyKey: key })));
    });

    it('refuses a used nonce for keepForMs, per agent, and takes it again after', async () => {
      const store = await context.open();
      const { agentId, agentKey } = await registerRecord(store);
      const other = await registerRecord(store);
      const keepForMs = 1_000;
      const askedAt = Date.now();
      expect(await store.useNonce(agentId, 'nonce-1', keepForMs, agentKey)).toBe('fresh');
      // Recorded somewhere in between: taken until askedAt + keepForMs at least, free after
      // recordedBy + keepForMs (a busy machine or a cluster can take a while to answer).
      const recordedBy = Date.now();
      expect(await store.useNonce(agentId, 'nonce-1', keepForMs, agentKey)).toBe('replayed');
      expect(await store.useNonce(agentId, 'nonce-2', keepForMs, agentKey)).toBe('fresh');
      expect(await store.useNonce(other.agentId, 'nonce-1', keepForMs, other.agentKey)).toBe(
        'fresh',
      );
      // A duration, not an instant: well into it the nonce is still taken.
      await sleepUntil(askedAt + 300);
      expect(await store.useNonce(agentId, 'nonce-1', keepForMs, agentKey)).toBe('replayed');

      await sleepUntil(recordedBy + keepForMs, 50);
      expect(await store.useNonce(agentId, 'nonce-1', 60_000, agentKey)).toBe('fresh');
      expect(await store.useNonce(agentId, 'nonce-1', 60_000, agentKey)).toBe('replayed');
    });

    it('records no nonce for an agent the directory does not hold', async () => {
      const store = await context.open();
      const record = agentRecord();
      expect(await store.useNonce(record.agentId, 'nonce-1', 60_000, record.agentKey)).toBe(
        'unknown-agent',
      );
      // Nothing was recorded: once registered, the same nonce is fresh.
      await store.register(record);
      expect(await store.useNonce(record.agentId, 'nonce-1', 60_000, record.agentKey)).toBe(
        'fresh',
      );
    });

    it('records no nonce when the directory holds another key for the agent', async () => {
      const store = await context.open();
      const { agentId, agentKey } = await registerRecord(store);
      const otherKey = agentRecord().agentKey;
      expect(await store.useNonce(agentId, 'nonce-1', 60_000, otherKey)).toBe('key-changed');
      // Checked before the replay: a used nonce with a stale key is still 'key-changed'.
      expect(await store.useNonce(agentId, 'nonce-1', 60_000, agentKey)).toBe('fresh');
      expect(await store.useNonce(agentId, 'nonce-1', 60_000, otherKey)).toBe('key-changed');
      expect(await store.useNonce(agentId, 'nonce-1', 60_000, agentKey)).toBe('replayed');
    });
  });
}
