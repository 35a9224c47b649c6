import { describe, expect, it } from 'vitest';
import type { DeadDropClient, InboxEntry } from '@deaddrop/client';
import { INBOX_QUEUE_LIMIT, InboxQueue } from './inbox-queue.js';

const entry = (id: string, from = 'bob'): InboxEntry => ({
  id,
  from,
  fromKey: 'k',
  sentAt: 1,
  body: `m${id}`,
  receivedAt: 1,
  uid: id,
  kind: 'message',
  fromFingerprint: 'f',
  pinSource: 'directory',
  receiptRequested: false,
  forwardSecret: false,
  verified: true,
});

/** A client whose pollAndDecrypt returns the given batches, one per call. */
function fakeClient(batches: InboxEntry[][]): DeadDropClient {
  return {
    pollAndDecrypt: () => Promise.resolve(batches.shift() ?? []),
  } as unknown as DeadDropClient;
}

describe('inbox queue', () => {
  it('drops replays and copies of messages it already holds or handed over', () => {
    const queue = new InboxQueue(fakeClient([]));
    queue.add([entry('1-0'), { id: '2-0', receivedAt: 1, error: 'replayed' }, entry('1-0')]);
    expect(queue.take(10).map((e) => e.id)).toEqual(['1-0']);
    queue.add([entry('1-0'), entry('3-0')]);
    expect(queue.take(10).map((e) => e.id)).toEqual(['3-0']);
  });

  it('takes the first match and keeps the rest in order', () => {
    const queue = new InboxQueue(fakeClient([]));
    queue.add([entry('1-0', 'carol'), entry('2-0', 'bob'), entry('3-0', 'carol')]);
    expect(queue.takeFirst((e) => 'from' in e && e.from === 'bob')?.id).toBe('2-0');
    expect(queue.peek().map((e) => e.id)).toEqual(['1-0', '3-0']);
  });

  it('fetches no more than it has room for, and a full queue frees waiters as it drains', async () => {
    const many = Array.from({ length: INBOX_QUEUE_LIMIT }, (_, i) => entry(`${i + 1}-0`));
    const queue = new InboxQueue(fakeClient([many]));
    expect(await queue.fetch(INBOX_QUEUE_LIMIT + 50, 0)).toBe(INBOX_QUEUE_LIMIT);
    expect(queue.full).toBe(true);
    expect(await queue.fetch(10, 0)).toBe(0);
    let roomy = false;
    const waiting = queue.room().then(() => (roomy = true));
    await Promise.resolve();
    expect(roomy).toBe(false);
    queue.take(1);
    await waiting;
    expect(roomy).toBe(true);
  });
});
