// Conformance: ordering, ids, cursor reads, counts, delete, monotonic ids after emptying.
import { compareMessageIds } from '../../src/store/mailbox-store.js';
import { describe, expect, it } from 'vitest';
import { appendMany, expectStored, messageTo, registerNew, type SuiteContext } from './fixtures.js';

const ID = /^(0|[1-9]\d*)-(0|[1-9]\d*)$/;

export function describeMessages(context: SuiteContext): void {
  describe('messages', () => {
    it('keeps messages in order with strictly increasing ids and TTL-derived times', async () => {
      const store = await context.open({ ttlSeconds: 600, maxMessages: 100 });
      const agentId = await registerNew(store);
      const inputs = Array.from({ length: 25 }, () => messageTo(agentId));
      const stored = [];
      for (const input of inputs) stored.push(expectStored(await store.append(input)));

      for (const [index, message] of stored.entries()) {
        expect(message.id).toMatch(ID);
        expect(message.receivedAt).toBe(Number(message.id.split('-')[0]));
        expect(message.expiresAt).toBe(message.receivedAt + 600_000);
        const previous = stored[index - 1];
        if (previous) expect(compareMessageIds(previous.id, message.id)).toBeLessThan(0);
      }

      const read = await store.read(agentId, '0-0', 100);
      expect(read).toEqual(
        stored.map(({ id, receivedAt, expiresAt }, index) => ({
          id,
          ciphertext: inputs[index]?.ciphertext,
          receivedAt,
          expiresAt,
        })),
      );
    });

    it('reads strictly after a cursor, at most `limit` at a time', async () => {
      const store = await context.open();
      const agentId = await registerNew(store);
      const other = await registerNew(store);
      const stored = await appendMany(store, agentId, 10);
      await appendMany(store, other, 3);

      const pages: string[][] = [];
      let cursor = '0-0';
      for (let page = 0; page < 10; page += 1) {
        const messages = await store.read(agentId, cursor, 3);
        if (messages.length === 0) break;
        expect(messages.length).toBeLessThanOrEqual(3);
        pages.push(messages.map((message) => message.id));
        cursor = messages.at(-1)?.id ?? cursor;
      }
      expect(pages.map((page) => page.length)).toEqual([3, 3, 3, 1]);
      expect(pages.flat()).toEqual(stored.map((message) => message.id));

      const fifth = stored[4]?.id ?? '';
      expect((await store.read(agentId, fifth, 100)).map((m) => m.id)).toEqual(
        stored.slice(5).map((m) => m.id),
      );
      expect(await store.read(agentId, stored.at(-1)?.id ?? '', 100)).toEqual([]);
      // A cursor that is not a stored id (here: beyond every id) is still a position.
      expect(await store.read(agentId, '99999999999999-0', 100)).toEqual([]);
    });

    it('counts live messages and their bytes, with the id range', async () => {
      const store = await context.open();
      const agentId = await registerNew(store);
      expect(await store.counts(agentId)).toEqual({
        count: 0,
        bytes: 0,
        oldestId: null,
        newestId: null,
      });

      const inputs = [
        messageTo(agentId, { bytes: 200 }),
        messageTo(agentId, { bytes: 300 }),
        messageTo(agentId, { bytes: 1000 }),
      ];
      const stored = [];
      for (const input of inputs) stored.push(expectStored(await store.append(input)));
      expect(await store.counts(agentId)).toEqual({
        count: 3,
        bytes: 1500,
        oldestId: stored[0]?.id,
        newestId: stored[2]?.id,
      });
    });

    it('deletes listed ids, counting only those that existed', async () => {
      const store = await context.open();
      const agentId = await registerNew(store);
      const other = await registerNew(store);
      const inputs = [
        messageTo(agentId, { bytes: 200 }),
        messageTo(agentId, { bytes: 300 }),
        messageTo(agentId, { bytes: 400 }),
      ];
      const ids = [];
      for (const input of inputs) ids.push(expectStored(await store.append(input)).id);
      const [first = '', second = '', third = ''] = ids;
      await appendMany(store, other, 1);

      // Duplicates, an id that never existed, a malformed id.
      expect(await store.delete(agentId, [first, first, second, '1-0', 'nope'])).toBe(2);
      expect(await store.counts(agentId)).toEqual({
        count: 1,
        bytes: 400,
        oldestId: third,
        newestId: third,
      });
      expect(await store.delete(agentId, [first, second])).toBe(0);
      expect((await store.read(agentId, '0-0', 10)).map((message) => message.id)).toEqual([third]);
      expect((await store.counts(other)).count).toBe(1);
    });

    it('never reuses or lowers ids after the mailbox empties', async () => {
      const store = await context.open();
      const agentId = await registerNew(store);
      const stored = await appendMany(store, agentId, 5);
      expect(
        await store.delete(
          agentId,
          stored.map((message) => message.id),
        ),
      ).toBe(5);
      expect(await store.counts(agentId)).toEqual({
        count: 0,
        bytes: 0,
        oldestId: null,
        newestId: null,
      });

      const next = expectStored(await store.append(messageTo(agentId)));
      expect(compareMessageIds(next.id, stored.at(-1)?.id ?? '0-0')).toBeGreaterThan(0);
      expect((await store.read(agentId, '0-0', 10)).map((message) => message.id)).toEqual([
        next.id,
      ]);
    });
  });
}
