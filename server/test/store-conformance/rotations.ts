// Conformance: key rotation (PROTOCOL §10) — one atomic compare-and-set of the key with the history
// appended, the last 16 kept, lookups answering the history oldest first.
import {
  ROTATIONS_MAX,
  deriveAgentKeys,
  generateSeed,
  randomBytes,
  signRotation,
  toB64u,
  type AgentKeys,
  type RotationStep,
} from '@deaddrop/contract';
import { describe, expect, it } from 'vitest';
import type { MailboxStore } from '../../src/store/mailbox-store.js';
import { newAgentId, type SuiteContext } from './fixtures.js';

const RELAY_ID = 'relay-rotations';

function newKeys(): AgentKeys {
  return deriveAgentKeys(generateSeed());
}

function step(agentId: string, from: AgentKeys, to: AgentKeys): RotationStep {
  return signRotation({ relayId: RELAY_ID, agentId, oldKeys: from, newKeys: to });
}

async function registered(store: MailboxStore): Promise<{ agentId: string; keys: AgentKeys }> {
  const agentId = newAgentId('rot');
  const keys = newKeys();
  const outcome = await store.register({ agentId, agentKey: keys.agentKey, registeredAt: 1 });
  expect(outcome.status).toBe('created');
  return { agentId, keys };
}

export function describeRotations(context: SuiteContext): void {
  describe('key rotation', () => {
    it('replaces the key and answers the steps oldest first', async () => {
      const store = await context.open();
      const { agentId, keys } = await registered(store);
      const second = newKeys();
      const third = newKeys();
      const first = step(agentId, keys, second);
      const next = step(agentId, second, third);

      expect(await store.rotate(agentId, first)).toBe('rotated');
      expect(await store.rotate(agentId, next)).toBe('rotated');
      expect(await store.lookup(agentId)).toEqual({
        agentId,
        agentKey: third.agentKey,
        registeredAt: 1,
        rotations: [first, next],
      });
    });

    it('drops the prekeys the old key signed, in the same step; a refused step keeps them', async () => {
      const store = await context.open();
      const { agentId, keys } = await registered(store);
      const held = Array.from({ length: 3 }, () => ({
        id: toB64u(randomBytes(8)),
        key: toB64u(randomBytes(32)),
        sig: toB64u(randomBytes(64)),
      }));
      await store.publishPrekeys(agentId, held, 200, keys.agentKey);
      expect(await store.rotate(agentId, step(agentId, newKeys(), newKeys()))).toBe('key-mismatch');
      expect(await store.prekeyCount(agentId)).toBe(3);
      expect(await store.rotate(agentId, step(agentId, keys, newKeys()))).toBe('rotated');
      expect(await store.prekeyCount(agentId)).toBe(0);
      expect(await store.claimPrekey(agentId)).toEqual({ prekey: null, remaining: 0 });
    });

    it('refuses prekeys verified against the old key once a rotation ran, storing none', async () => {
      const store = await context.open();
      const { agentId, keys } = await registered(store);
      const next = newKeys();
      const checked = Array.from({ length: 3 }, () => ({
        id: toB64u(randomBytes(8)),
        key: toB64u(randomBytes(32)),
        sig: toB64u(randomBytes(64)),
      }));
      // The relay checked them against `keys` (stand-ins: the store never verifies); the rotation
      // lands before the store runs the call.
      expect(await store.rotate(agentId, step(agentId, keys, next))).toBe('rotated');
      expect(await store.publishPrekeys(agentId, checked, 200, keys.agentKey)).toEqual({
        status: 'key-changed',
      });
      expect(await store.prekeyCount(agentId)).toBe(0);
      // The same call checked against the new key is stored.
      expect(await store.publishPrekeys(agentId, checked, 200, next.agentKey)).toEqual({
        status: 'stored',
        stored: 3,
        total: 3,
      });
    });

    it('refuses a step whose old key is not the stored key, and an unknown agent', async () => {
      const store = await context.open();
      const { agentId, keys } = await registered(store);
      const stranger = newKeys();
      expect(await store.rotate(agentId, step(agentId, stranger, newKeys()))).toBe('key-mismatch');
      expect(await store.rotate(newAgentId('none'), step(agentId, keys, newKeys()))).toBe(
        'no-agent',
      );
      expect(await store.lookup(agentId)).toMatchObject({ agentKey: keys.agentKey, rotations: [] });
    });

    it('refuses a replayed step once the key has moved on', async () => {
      const store = await context.open();
      const { agentId, keys } = await registered(store);
      const first = step(agentId, keys, newKeys());
      expect(await store.rotate(agentId, first)).toBe('rotated');
      expect(await store.rotate(agentId, first)).toBe('key-mismatch');
      expect((await store.lookup(agentId))?.rotations).toEqual([first]);
    });

    it('lets exactly one of concurrent rotations from the same key win', async () => {
      const store = await context.open();
      const { agentId, keys } = await registered(store);
      const candidates = Array.from({ length: 8 }, () => newKeys());
      const outcomes = await Promise.all(
        candidates.map((candidate) => store.rotate(agentId, step(agentId, keys, candidate))),
      );
      expect(outcomes.filter((outcome) => outcome === 'rotated')).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome === 'key-mismatch')).toHaveLength(7);
      const winner = candidates[outcomes.indexOf('rotated')];
      const record = await store.lookup(agentId);
      expect(record?.agentKey).toBe(winner?.agentKey);
      expect(record?.rotations).toHaveLength(1);
      expect(record?.rotations[0]?.newKey).toBe(winner?.agentKey);
    });

    it(`keeps the last ${ROTATIONS_MAX} steps`, async () => {
      const store = await context.open();
      const { agentId, keys } = await registered(store);
      const steps: RotationStep[] = [];
      let current = keys;
      for (let index = 0; index < ROTATIONS_MAX + 3; index++) {
        const next = newKeys();
        const made = step(agentId, current, next);
        expect(await store.rotate(agentId, made)).toBe('rotated');
        steps.push(made);
        current = next;
      }
      const record = await store.lookup(agentId);
      expect(record?.agentKey).toBe(current.agentKey);
      expect(record?.rotations).toEqual(steps.slice(-ROTATIONS_MAX));
    });

    it.runIf(context.reopen)('keeps the rotated key and history across a reopen', async () => {
      if (!context.reopen) return;
      let store = await context.open();
      const { agentId, keys } = await registered(store);
      const made = step(agentId, keys, newKeys());
      expect(await store.rotate(agentId, made)).toBe('rotated');
      const before = await store.lookup(agentId);
      store = await context.reopen(store);
      expect(await store.lookup(agentId)).toEqual(before);
    });
  });
}
