// Conformance: one-time prekeys (PROTOCOL §10) — oldest first, the cap, duplicates refused by id
// or key, counts, concurrent claims that never hand out one prekey twice, and the agent's record
// read in the same step (a publish only under the key it was verified with; an unknown agent).
import { randomBytes, toB64u } from '@deaddrop/contract';
import { describe, expect, it } from 'vitest';
import type { ClaimedPrekey, MailboxStore, StoredPrekey } from '../../src/store/mailbox-store.js';
import { agentRecord, newAgentId, registerRecord, type SuiteContext } from './fixtures.js';

/** Stand-ins of the right shape: the store never verifies (the relay did before). */
function prekeys(count: number): StoredPrekey[] {
  return Array.from({ length: count }, () => ({
    id: toB64u(randomBytes(8)),
    key: toB64u(randomBytes(32)),
    sig: toB64u(randomBytes(64)),
  }));
}

const CAP = 200;

/** A claim for a registered agent (null is the store's answer for an unknown one). */
async function claimOf(store: MailboxStore, agentId: string): Promise<ClaimedPrekey> {
  const claimed = await store.claimPrekey(agentId);
  if (claimed === null) throw new Error(`the store does not know ${agentId}`);
  return claimed;
}

export function describePrekeys(context: SuiteContext): void {
  describe('prekeys', () => {
    it('hands prekeys out oldest first, each once, then null; counts what is left', async () => {
      const store = await context.open();
      const { agentId, agentKey } = await registerRecord(store);
      expect(await store.prekeyCount(agentId)).toBe(0);
      expect(await store.claimPrekey(agentId)).toEqual({ prekey: null, remaining: 0 });

      const first = prekeys(3);
      const second = prekeys(2);
      expect(await store.publishPrekeys(agentId, first, CAP, agentKey)).toEqual({
        status: 'stored',
        stored: 3,
        total: 3,
      });
      expect(await store.publishPrekeys(agentId, second, CAP, agentKey)).toEqual({
        status: 'stored',
        stored: 2,
        total: 5,
      });
      expect(await store.prekeyCount(agentId)).toBe(5);
      const claimed = [];
      for (let remaining = 4; remaining >= 0; remaining--) {
        const claim = await claimOf(store, agentId);
        expect(claim.remaining).toBe(remaining);
        claimed.push(claim.prekey);
      }
      expect(claimed).toEqual([...first, ...second]);
      expect(await store.claimPrekey(agentId)).toEqual({ prekey: null, remaining: 0 });
      expect(await store.prekeyCount(agentId)).toBe(0);
    });

    it('keeps each agent’s prekeys apart', async () => {
      const store = await context.open();
      const alice = await registerRecord(store);
      const bob = await registerRecord(store);
      const mine = prekeys(2);
      await store.publishPrekeys(alice.agentId, mine, CAP, alice.agentKey);
      expect(await store.claimPrekey(bob.agentId)).toEqual({ prekey: null, remaining: 0 });
      expect(await store.prekeyCount(alice.agentId)).toBe(2);
      // The same prekey under another agent is not a duplicate.
      expect(await store.publishPrekeys(bob.agentId, mine, CAP, bob.agentKey)).toMatchObject({
        status: 'stored',
      });
    });

    it('holds at most the cap, all or nothing, and says how many it holds', async () => {
      const store = await context.open();
      const { agentId, agentKey } = await registerRecord(store);
      expect(await store.publishPrekeys(agentId, prekeys(100), CAP, agentKey)).toMatchObject({
        total: 100,
      });
      expect(await store.publishPrekeys(agentId, prekeys(99), CAP, agentKey)).toMatchObject({
        total: 199,
      });
      expect(await store.publishPrekeys(agentId, prekeys(2), CAP, agentKey)).toEqual({
        status: 'full',
        total: 199,
      });
      expect(await store.prekeyCount(agentId)).toBe(199);
      expect(await store.publishPrekeys(agentId, prekeys(1), CAP, agentKey)).toMatchObject({
        total: 200,
      });
      expect(await store.publishPrekeys(agentId, prekeys(1), CAP, agentKey)).toEqual({
        status: 'full',
        total: 200,
      });
      await store.claimPrekey(agentId);
      expect(await store.publishPrekeys(agentId, prekeys(1), CAP, agentKey)).toMatchObject({
        total: 200,
      });
    });

    it('refuses a prekey whose id or key it holds, or that repeats in the call, storing none', async () => {
      const store = await context.open();
      const { agentId, agentKey } = await registerRecord(store);
      const [held] = prekeys(1);
      if (held === undefined) throw new Error('no prekey');
      await store.publishPrekeys(agentId, [held], CAP, agentKey);
      const [fresh, other] = prekeys(2);
      if (fresh === undefined || other === undefined) throw new Error('no prekey');

      const sameId = { ...other, id: held.id };
      expect(await store.publishPrekeys(agentId, [fresh, sameId], CAP, agentKey)).toEqual({
        status: 'duplicate',
        id: held.id,
      });
      const sameKey = { ...other, key: held.key };
      expect(await store.publishPrekeys(agentId, [fresh, sameKey], CAP, agentKey)).toEqual({
        status: 'duplicate',
        id: other.id,
      });
      expect(await store.publishPrekeys(agentId, [fresh, fresh], CAP, agentKey)).toEqual({
        status: 'duplicate',
        id: fresh.id,
      });
      expect(await store.prekeyCount(agentId)).toBe(1);
      // A claimed prekey is gone: publishing it again is not a duplicate of anything held.
      await store.claimPrekey(agentId);
      expect(await store.publishPrekeys(agentId, [held, fresh], CAP, agentKey)).toMatchObject({
        status: 'stored',
        total: 2,
      });
    });

    it('never hands one prekey to two concurrent claims', async () => {
      const store = await context.open();
      const { agentId, agentKey } = await registerRecord(store);
      const published = [...prekeys(100), ...prekeys(50)];
      await store.publishPrekeys(agentId, published.slice(0, 100), CAP, agentKey);
      await store.publishPrekeys(agentId, published.slice(100), CAP, agentKey);
      // More claims than prekeys, all at once: each prekey goes to exactly one, the rest get null.
      const claims = await Promise.all(Array.from({ length: 180 }, () => claimOf(store, agentId)));
      const ids = claims.flatMap((claim) => (claim.prekey === null ? [] : [claim.prekey.id]));
      expect(ids).toHaveLength(150);
      expect(new Set(ids).size).toBe(150);
      expect(new Set(ids)).toEqual(new Set(published.map((prekey) => prekey.id)));
      expect(claims.filter((claim) => claim.prekey === null)).toHaveLength(30);
      // Each answer's `remaining` is distinct while prekeys last: each saw its own removal.
      const remainders = claims.flatMap((claim) =>
        claim.prekey === null ? [] : [claim.remaining],
      );
      expect(new Set(remainders).size).toBe(150);
      expect(await store.prekeyCount(agentId)).toBe(0);
    });

    it('stores only under the key the prekeys were verified with, and only for a known agent', async () => {
      const store = await context.open();
      const { agentId, agentKey } = await registerRecord(store);
      await store.publishPrekeys(agentId, prekeys(2), CAP, agentKey);
      // Another key than the stored one: a rotation ran after the relay verified the call.
      expect(await store.publishPrekeys(agentId, prekeys(3), CAP, agentRecord().agentKey)).toEqual({
        status: 'key-changed',
      });
      expect(await store.prekeyCount(agentId)).toBe(2);

      const stranger = newAgentId('none');
      expect(await store.publishPrekeys(stranger, prekeys(1), CAP, agentKey)).toEqual({
        status: 'no-agent',
      });
      expect(await store.prekeyCount(stranger)).toBe(0);
      // A claim tells an agent the store does not hold from one with none left.
      expect(await store.claimPrekey(stranger)).toBeNull();
    });
  });
}
