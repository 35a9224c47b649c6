// Conformance: the directory (register/lookup), the relay id, reachability.
import { describe, expect, it } from 'vitest';
import { agentRecord, messageTo, newAgentId, type SuiteContext } from './fixtures.js';

export function describeDirectory(context: SuiteContext): void {
  describe('directory', () => {
    it('registers once: created, then existing for the same key, conflict for another', async () => {
      const store = await context.open();
      const record = agentRecord();

      expect(await store.lookup(record.agentId)).toBeNull();
      expect(await store.register(record)).toEqual({ status: 'created', record });

      const again = { ...record, registeredAt: record.registeredAt + 5_000 };
      expect(await store.register(again)).toEqual({ status: 'existing', record });

      const other = agentRecord(record.agentId);
      expect(await store.register(other)).toEqual({ status: 'conflict', record });
      expect(await store.lookup(record.agentId)).toEqual({ ...record, rotations: [] });
    });

    it('refuses to append to an unregistered mailbox', async () => {
      const store = await context.open();
      const agentId = newAgentId();
      expect(await store.append(messageTo(agentId))).toEqual({ status: 'no-mailbox' });
      expect(await store.read(agentId, '0-0', 10)).toEqual([]);
      expect(await store.counts(agentId)).toEqual({
        count: 0,
        bytes: 0,
        oldestId: null,
        newestId: null,
      });
    });

    it('sets the relay id once and keeps it', async () => {
      const store = await context.open();
      expect(await store.ensureRelayId('relay-first')).toBe('relay-first');
      expect(await store.ensureRelayId('relay-second')).toBe('relay-first');
      const [a, b] = await Promise.all([
        store.ensureRelayId('relay-x'),
        store.ensureRelayId('relay-y'),
      ]);
      expect([a, b]).toEqual(['relay-first', 'relay-first']);
    });

    it('answers ping', async () => {
      const store = await context.open();
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
