// Conformance: what survives a restart, and what is never stored.
import { deriveAgentKeys, generateSeed, sealMessage, sha256Hex, toB64u } from '@deaddrop/contract';
import { describe, expect, it } from 'vitest';
import { compareMessageIds } from '../../src/store/mailbox-store.js';
import {
  DEFAULT_OPTIONS,
  agentRecord,
  appendMany,
  expectStored,
  idempotencyKey,
  messageTo,
  newAgentId,
  registerNew,
  type SuiteContext,
} from './fixtures.js';

export function describePersistence(context: SuiteContext): void {
  const { reopen, rawContents } = context;

  describe('persistence', () => {
    it.runIf(reopen)('keeps everything across a reopen', async () => {
      if (!reopen) return;
      let store = await context.open();
      const record = agentRecord();
      await store.register(record);
      const relayId = await store.ensureRelayId('relay-kept');
      const input = messageTo(record.agentId);
      const first = expectStored(await store.append(input));
      const more = await appendMany(store, record.agentId, 2);
      const before = await store.read(record.agentId, '0-0', 10);
      expect(await store.useNonce(record.agentId, 'kept-nonce', 60_000, record.agentKey)).toBe(
        'fresh',
      );

      store = await reopen(store, DEFAULT_OPTIONS);
      expect(await store.lookup(record.agentId)).toEqual({ ...record, rotations: [] });
      expect(await store.ensureRelayId('relay-other')).toBe(relayId);
      expect(await store.read(record.agentId, '0-0', 10)).toEqual(before);
      expect(await store.counts(record.agentId)).toMatchObject({
        count: 3,
        oldestId: first.id,
        newestId: more[1]?.id,
      });
      expect(await store.append(input)).toEqual({ ...first, status: 'duplicate' });
      expect(await store.useNonce(record.agentId, 'kept-nonce', 60_000, record.agentKey)).toBe(
        'replayed',
      );

      // Ids stay monotonic across a restart even when the mailbox was emptied before it.
      expect(
        await store.delete(
          record.agentId,
          before.map((message) => message.id),
        ),
      ).toBe(3);
      store = await reopen(store, DEFAULT_OPTIONS);
      const next = expectStored(await store.append(messageTo(record.agentId)));
      expect(compareMessageIds(next.id, more[1]?.id ?? '0-0')).toBeGreaterThan(0);
    });

    it.runIf(rawContents)(
      'stores nothing about the sender, and its address only in a rate bucket that expires',
      async () => {
        if (!rawContents) return;
        const store = await context.open();
        const recipientId = await registerNew(store, 'recipient');
        const senderId = newAgentId('sender');
        const sender = deriveAgentKeys(generateSeed());
        const recipient = deriveAgentKeys(generateSeed());
        const sealed = sealMessage({
          from: senderId,
          sender,
          to: recipientId,
          recipient,
          body: { text: `hello from ${senderId}` },
        });
        // The per-mailbox rate limits are the one input that carries the sender's address.
        const address = '198.51.100.77';
        const perMinute = { capacity: 60, perMs: 60 / 60_000 };
        expectStored(
          await store.append({
            agentId: recipientId,
            ciphertext: sealed.ciphertext,
            bytes: sealed.bytes,
            idempotencyKey: idempotencyKey(),
            ciphertextHash: sha256Hex(sealed.ciphertext),
            rate: { source: address, mailbox: perMinute, sender: perMinute },
          }),
        );

        const raw = await rawContents(store);
        expect(raw).toContain(sealed.ciphertext);
        expect(raw).toContain(recipientId);
        for (const secret of [senderId, sender.agentKey, toB64u(sender.signPublicKey)])
          expect(raw).not.toContain(secret);
        // Every key and value was inspected: the address may stand only in the name of the
        // sender's rate bucket, which expires once the bucket has refilled (a minute at most).
        for (const line of raw.split('\n').filter((text) => text.includes(address))) {
          const bucket = new RegExp(
            `rate:${address.replace(/\./g, '\\.')} \\(\\w+, ttl (\\d+)\\)$`,
          ).exec(line);
          expect(bucket, line).not.toBeNull();
          const ttl = Number(bucket?.[1]);
          expect(ttl).toBeGreaterThan(0);
          expect(ttl).toBeLessThanOrEqual(61_000);
        }
      },
    );
  });
}
