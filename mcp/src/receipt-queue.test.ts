import { describe, expect, it } from 'vitest';
import type { ReceiptEvent } from '@deaddrop/client';
import { RECEIPT_QUEUE_LIMIT, ReceiptQueue } from './receipt-queue.js';

function receipt(n: number, verified = true): ReceiptEvent {
  const common = {
    id: `1-${n}`,
    uid: 'u'.repeat(22),
    from: 'bob',
    of: [`m${n}`],
    status: 'delivered' as const,
    sentAt: n,
    receivedAt: n,
  };
  return verified ? { ...common, verified: true } : { ...common, verified: false, reason: 'stale' };
}

describe('ReceiptQueue', () => {
  it('drains what arrived, oldest first, once', () => {
    const queue = new ReceiptQueue();
    queue.add(receipt(1));
    queue.add(receipt(2));
    expect(queue.drain().map((event) => event.sentAt)).toEqual([1, 2]);
    expect(queue.drain()).toEqual([]);
  });

  it('keeps no unverified receipt', () => {
    const queue = new ReceiptQueue();
    queue.add(receipt(1, false));
    expect(queue.size).toBe(0);
  });

  it('keeps only the newest receipts when nobody drains it', () => {
    const queue = new ReceiptQueue();
    for (let n = 0; n < RECEIPT_QUEUE_LIMIT + 5; n++) queue.add(receipt(n));
    const drained = queue.drain();
    expect(drained).toHaveLength(RECEIPT_QUEUE_LIMIT);
    expect(drained[0]?.sentAt).toBe(5);
  });
});
