// Conformance: wake-ups for long-polls and subscriptions.
import type { StoredMessage } from '@deaddrop/contract';
import { describe, expect, it } from 'vitest';
import type { FreshMessage, MailboxStore } from '../../src/store/mailbox-store.js';
import {
  agentRecord,
  expectStored,
  messageTo,
  registerNew,
  sleep,
  watchCounting,
  type SuiteContext,
} from './fixtures.js';

/** How a long-poll handler uses the store: watch first, read, then wait for a wake-up. */
async function longPoll(
  store: MailboxStore,
  agentId: string,
  after: string,
  waitMs: number,
): Promise<StoredMessage[]> {
  const deadline = Date.now() + waitMs;
  let wake: () => void = () => undefined;
  let wakes = 0;
  const stop = store.watch(agentId, () => {
    wakes += 1;
    wake();
  });
  try {
    while (true) {
      const seen = wakes;
      const messages = await store.read(agentId, after, 10);
      const left = deadline - Date.now();
      if (messages.length > 0 || left <= 0) return messages;
      // A wake-up during the read means "read again", not "wait".
      if (wakes === seen) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  } finally {
    stop();
  }
}

/** Long enough for a notification to cross a local Redis, short enough to keep the suite fast. */
const QUIET_MS = 150;

/** Every call a watcher gets, with what it carried, after its first ("live") wake-up. */
async function recordWakeUps(
  store: MailboxStore,
  agentId: string,
): Promise<{ readonly calls: (FreshMessage | undefined)[]; readonly stop: () => void }> {
  const calls: (FreshMessage | undefined)[] = [];
  let live: () => void = () => undefined;
  const isLive = new Promise<void>((resolve) => (live = resolve));
  const stop = store.watch(agentId, (fresh) => {
    calls.push(fresh);
    live();
  });
  await isLive;
  calls.length = 0;
  return { calls, stop };
}

export function describeWatch(context: SuiteContext): void {
  describe('watch', () => {
    it('wakes a watcher once it is live, then on appends to its own mailbox only', async () => {
      const store = await context.open();
      const agentId = await registerNew(store);
      const other = await registerNew(store);
      const watcher = watchCounting(store, agentId);

      expect(await watcher.next()).toBe(true);
      const live = watcher.count;

      await store.append(messageTo(other));
      await sleep(QUIET_MS);
      expect(watcher.count).toBe(live);

      const woken = watcher.next();
      expectStored(await store.append(messageTo(agentId)));
      expect(await woken).toBe(true);

      watcher.stop();
      const after = watcher.count;
      await store.append(messageTo(agentId));
      await sleep(QUIET_MS);
      expect(watcher.count).toBe(after);
    });

    it('keeps other watchers of a mailbox when one stops', async () => {
      const store = await context.open();
      const agentId = await registerNew(store);
      const first = watchCounting(store, agentId);
      const second = watchCounting(store, agentId);
      expect(await Promise.all([first.next(), second.next()])).toEqual([true, true]);

      first.stop();
      const firstCount = first.count;
      const woken = second.next();
      await store.append(messageTo(agentId));
      expect(await woken).toBe(true);
      await sleep(QUIET_MS);
      expect(first.count).toBe(firstCount);
      second.stop();
    });

    it('ends a long-poll as soon as a message arrives', async () => {
      const store = await context.open();
      const agentId = await registerNew(store);
      const started = Date.now();
      const polled = longPoll(store, agentId, '0-0', 5_000);
      await sleep(100);
      const stored = expectStored(await store.append(messageTo(agentId)));

      const messages = await polled;
      expect(messages.map((message) => message.id)).toEqual([stored.id]);
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('does not miss a message stored right after watch() returns', async () => {
      const store = await context.open();
      const agentId = await registerNew(store);
      const polled = longPoll(store, agentId, '0-0', 3_000);
      const stored = expectStored(await store.append(messageTo(agentId)));
      expect((await polled).map((message) => message.id)).toEqual([stored.id]);
    });

    it('hands each message it stores to the watchers, once, with the newest id before it', async () => {
      const store = await context.open();
      const agentId = await registerNew(store);
      const { calls, stop } = await recordWakeUps(store, agentId);

      const first = expectStored(await store.append(messageTo(agentId)));
      const second = expectStored(await store.append(messageTo(agentId)));
      const thirdInput = messageTo(agentId);
      const third = expectStored(await store.append(thirdInput));
      expect(await store.delete(agentId, [third.id])).toBe(1);
      const fourth = expectStored(await store.append(messageTo(agentId)));
      await sleep(QUIET_MS); // the notifications of these messages must wake nobody again
      const read = await store.read(agentId, '0-0', 10);
      expect(read.map((message) => message.id)).toEqual([first.id, second.id, fourth.id]);
      expect(calls).toEqual([
        { after: '0-0', message: read[0] },
        { after: first.id, message: read[1] },
        {
          after: second.id,
          message: {
            id: third.id,
            ciphertext: thirdInput.ciphertext,
            receivedAt: third.receivedAt,
            expiresAt: third.expiresAt,
          },
        },
        // The deleted message is not what a reader at `second` has missed.
        { after: second.id, message: read[2] },
      ]);

      // A duplicate stores nothing, so it wakes nobody.
      const input = messageTo(agentId);
      expectStored(await store.append(input));
      expect((await store.append(input)).status).toBe('duplicate');
      await sleep(QUIET_MS);
      expect(calls).toHaveLength(5);
      stop();
    });

    it('treats every valid agent id as a plain name', async () => {
      const store = await context.open();
      for (const agentId of ['error', 'constructor', '0', 'a.b_c-d']) {
        await store.register(agentRecord(agentId));
        expectStored(await store.append(messageTo(agentId)));
        const watcher = watchCounting(store, agentId);
        expect(await watcher.next()).toBe(true);
        const woken = watcher.next();
        expectStored(await store.append(messageTo(agentId)));
        expect(await woken).toBe(true);
        watcher.stop();
        expect((await store.counts(agentId)).count).toBe(2);
      }
    });

    it('gives many watchers their wake-ups', async () => {
      const store = await context.open();
      const agents = await Promise.all(Array.from({ length: 20 }, () => registerNew(store)));
      const watchers = agents.map((agentId) => watchCounting(store, agentId));
      expect(await Promise.all(watchers.map((watcher) => watcher.next()))).toEqual(
        agents.map(() => true),
      );

      const woken = watchers.map((watcher) => watcher.next());
      await Promise.all(agents.map((agentId) => store.append(messageTo(agentId))));
      expect(await Promise.all(woken)).toEqual(agents.map(() => true));
      for (const watcher of watchers) watcher.stop();
    });
  });
}
