import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toB64u } from '@deaddrop/contract';
import type { ReceivedMessage } from './inbox-entry.js';
import { loadMailboxState, saveMailboxState } from './mailbox-state.js';
import { MEMORY_LIMIT, MessageMemory } from './message-memory.js';
import type { ReceiptEvent } from './receipts/receipt-event.js';

const now = 1_800_000_000_000;
/** A valid inner id (16 bytes, b64u) for each `n`, as the state file's schema requires. */
const uid = (n: number): string =>
  toB64u(Uint8Array.of(n & 0xff, n >> 8, ...new Array<number>(14).fill(7)));

function received(n: number, from = 'alice'): ReceivedMessage {
  return {
    id: `${now}-${n}`,
    from,
    fromKey: 'ddk1_x',
    verified: true,
    sentAt: now,
    body: 'hi',
    receivedAt: now,
    uid: uid(n),
    kind: 'message',
    receiptRequested: false,
    forwardSecret: false,
    fromFingerprint: '0000',
    pinSource: 'directory',
  };
}

function receipt(of: string[], from: string, verified = true): ReceiptEvent {
  const common = { id: `${now}-99`, uid: uid(99), from, of, status: 'delivered' as const };
  return verified
    ? { ...common, sentAt: now + 5, receivedAt: now + 6, verified: true }
    : { ...common, sentAt: now + 5, receivedAt: now + 6, verified: false, reason: 'key-mismatch' };
}

describe('message memory', () => {
  it('finds a received message by relay id or uid, keeping only the newest MEMORY_LIMIT', () => {
    const memory = new MessageMemory();
    for (let n = 0; n < MEMORY_LIMIT + 10; n++) memory.received(received(n));
    expect(memory.findReceived(uid(9))).toBeUndefined();
    expect(memory.findReceived(uid(10))?.id).toBe(`${now}-10`);
    expect(memory.findReceived(`${now}-20`)?.uid).toBe(uid(20));
    expect(memory.toJSON().recent).toHaveLength(MEMORY_LIMIT);
  });

  it('marks a send delivered only by a verified receipt from its own recipient', () => {
    const memory = new MessageMemory();
    memory.sentAskingReceipt({ uid: uid(1), to: 'bob', id: `${now}-1`, sentAt: now });
    memory.receipt(receipt([uid(1)], 'mallory'));
    memory.receipt(receipt([uid(1)], 'bob', false));
    expect(memory.deliveries()[0]?.deliveredAt).toBeUndefined();
    memory.receipt(receipt([uid(1)], 'bob'));
    expect(memory.deliveries()[0]?.deliveredAt).toBe(now + 5);
  });
});

describe('memory in the state file', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'deaddrop-memory-'));
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('survives a save and load', async () => {
    const state = await loadMailboxState(home, 'bob');
    state.memory.received(received(1));
    await saveMailboxState(home, 'bob', state, now, 60_000);
    expect((await loadMailboxState(home, 'bob')).memory.findReceived(uid(1))?.from).toBe('alice');
  });

  it('reads malformed lists as empty, keeping the cursor and replay cache', async () => {
    await mkdir(join(home, 'agents'), { recursive: true });
    await writeFile(
      join(home, 'agents', 'bob.state.json'),
      JSON.stringify({
        v: 1,
        cursors: { 'relay-1': '5-0' },
        seen: { abc: now },
        recent: [{ id: '../etc', uid: 7, group: { members: 'all' } }],
        deliveries: 'garbage',
      }),
    );
    const state = await loadMailboxState(home, 'bob');
    expect(state.cursor('relay-1')).toBe('5-0');
    expect(state.seen.size).toBe(1);
    expect(state.memory.toJSON()).toEqual({ recent: [], deliveries: [] });
  });
});
