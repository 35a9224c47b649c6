import { describe, expect, it, vi } from 'vitest';
import type { OwedReceipt } from '../client-types.js';
import type { ReceivedMessage } from '../inbox-entry.js';
import { receiptEventOf } from './receipt-event.js';
import { ReceiptFeed } from './receipt-feed.js';
import { ReceiptSender } from './receipt-sender.js';

function entry(from: string, uid: string, changes: Partial<ReceivedMessage> = {}): ReceivedMessage {
  return {
    id: '1-0',
    from,
    fromKey: 'ddk1_x',
    sentAt: 1,
    body: 'x',
    receivedAt: 1,
    uid,
    kind: 'message',
    fromFingerprint: 'f',
    pinSource: 'directory',
    receiptRequested: true,
    verified: true,
    ...changes,
  } as ReceivedMessage;
}

function sender() {
  const sent: OwedReceipt[] = [];
  const errors: OwedReceipt[] = [];
  const receipts = new ReceiptSender({
    send: (owed) => {
      sent.push(owed);
      return owed.to === 'broken' ? Promise.reject(new Error('no')) : Promise.resolve();
    },
    onError: (_error, owed) => errors.push(owed),
  });
  return { sent, errors, receipts };
}

describe('ReceiptSender', () => {
  it('owes one receipt per sender, only for verified messages that ask', async () => {
    const { sent, receipts } = sender();
    receipts.owe([
      entry('a', 'u1'),
      entry('b', 'u2'),
      entry('a', 'u3'),
      entry('a', 'u4', { receiptRequested: false }),
      entry('a', 'u5', { verified: false, reason: 'key-mismatch' }),
      entry('a', 'u6', { kind: 'receipt' }),
      { id: '2-0', receivedAt: 1, error: 'bad-inner' },
    ]);
    await receipts.flush();
    expect(sent).toEqual([
      { to: 'a', of: ['u1', 'u3'] },
      { to: 'b', of: ['u2'] },
    ]);
  });

  it('splits more than 100 ids into receipts of 100', async () => {
    const { sent, receipts } = sender();
    receipts.owe(Array.from({ length: 150 }, (_, i) => entry('a', `u${i}`)));
    await receipts.flush();
    expect(sent.map((owed) => owed.of.length)).toEqual([100, 50]);
  });

  // Real timers: fake ones installed in a process other test files share (isolate: false) left
  // live-connection tests hanging in the same worker.
  it('gathers live deliveries for a second on a timer that keeps nothing alive', async () => {
    const { sent, receipts } = sender();
    const timers = vi.spyOn(globalThis, 'setTimeout');
    try {
      receipts.owe([entry('a', 'u1')]);
      receipts.sendSoon();
      receipts.owe([entry('a', 'u2')]);
      receipts.sendSoon();
      const ownTimers = timers.mock.results.filter(
        (result) => (result.value as NodeJS.Timeout | undefined)?.hasRef() === false,
      );
      expect(ownTimers).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(sent).toEqual([]);
      await receipts.flush();
      expect(sent).toEqual([{ to: 'a', of: ['u1', 'u2'] }]);
    } finally {
      timers.mockRestore();
    }
  });

  it('reports failures, except of sends abandoned by close', async () => {
    const { errors, receipts } = sender();
    receipts.owe([entry('broken', 'u1')]);
    await receipts.flush();
    expect(errors).toEqual([{ to: 'broken', of: ['u1'] }]);
    receipts.owe([entry('broken', 'u2')]);
    receipts.sendNow();
    receipts.abandon();
    await receipts.flush();
    expect(errors).toHaveLength(1);
    receipts.owe([entry('a', 'u3')]);
    receipts.sendSoon();
    receipts.abandon();
    await receipts.flush();
    expect(errors).toHaveLength(1);
  });
});

describe('ReceiptFeed', () => {
  const event = (uid: string) => {
    const made = receiptEventOf(
      entry('a', uid, {
        kind: 'receipt',
        body: { of: [uid.padEnd(22, 'A')], status: 'delivered' },
      }),
    );
    if (made === null) throw new Error('not a receipt');
    return made;
  };

  it('is null for an ordinary message', () => {
    expect(receiptEventOf(entry('a', 'u'))).toBeNull();
  });

  it('hands a reader what waited, then what comes, and the callback everything', async () => {
    const heard: string[] = [];
    const feed = new ReceiptFeed((e) => {
      heard.push(e.uid);
    });
    feed.publish(event('early'));
    const controller = new AbortController();
    const reader = feed.read(controller.signal);
    expect((await reader.next()).value).toMatchObject({ uid: 'early' });
    const next = reader.next();
    feed.publish(event('late'));
    expect((await next).value).toMatchObject({ uid: 'late' });
    const ended = reader.next();
    controller.abort();
    expect((await ended).done).toBe(true);
    expect(heard).toEqual(['early', 'late']);
  });

  it('survives a callback that throws', () => {
    const feed = new ReceiptFeed(() => {
      throw new Error('app bug');
    });
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    expect(() => {
      feed.publish(event('x'));
    }).not.toThrow();
    expect(warn).toHaveBeenCalledOnce();
    warn.mockRestore();
  });
});
