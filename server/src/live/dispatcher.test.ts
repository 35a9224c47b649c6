// The dispatcher's wake log: when the wake-ups since a reader's last look spare it a store read.
import type { StoredMessage } from '@deaddrop/contract';
import { describe, expect, it } from 'vitest';
import type { FreshMessage, MailboxStore, WakeListener } from '../store/mailbox-store.js';
import { createDispatcher } from './dispatcher.js';

/** Just enough of a store for the dispatcher: watch(), and a way to call its listeners. */
function fakeStore() {
  const listeners = new Set<WakeListener>();
  const store = {
    watch(_agentId: string, listener: WakeListener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  } as Pick<MailboxStore, 'watch'> as MailboxStore;
  const wake = (fresh?: FreshMessage): void => {
    for (const listener of listeners) listener(fresh);
  };
  return { store, wake };
}

function message(id: string): StoredMessage {
  return { id, ciphertext: `c${id}`, receivedAt: 1, expiresAt: 2 };
}

function fresh(after: string, id: string): FreshMessage {
  return { after, message: message(id) };
}

describe('dispatcher take()', () => {
  it('asks for a read when nothing woke the reader (a timeout is a catch-up)', () => {
    const { store } = fakeStore();
    const waiter = createDispatcher(store).watch('a');
    expect(waiter.take('0-0', 10)).toBeUndefined();
  });

  it('asks for a read after a notification that carried no message', () => {
    const { store, wake } = fakeStore();
    const waiter = createDispatcher(store).watch('a');
    wake(fresh('0-0', '1-0'));
    wake();
    expect(waiter.take('0-0', 10)).toBeUndefined();
    // The read that follows covers it all; a later wake-up starts over.
    wake(fresh('1-0', '2-0'));
    expect(waiter.take('1-0', 10)).toEqual([message('2-0')]);
  });

  it('hands over the chain of fresh messages that follows the cursor', () => {
    const { store, wake } = fakeStore();
    const waiter = createDispatcher(store).watch('a');
    wake(fresh('5-0', '6-0'));
    wake(fresh('6-0', '7-0'));
    wake(fresh('7-0', '8-0'));
    expect(waiter.take('5-0', 2)).toEqual([message('6-0'), message('7-0')]);
    // What the limit left is still there for the next look, without another wake-up.
    wake(fresh('8-0', '9-0'));
    expect(waiter.take('7-0', 10)).toEqual([message('8-0'), message('9-0')]);
  });

  it('accepts a cursor past `after` (deleted messages in between)', () => {
    const { store, wake } = fakeStore();
    const waiter = createDispatcher(store).watch('a');
    wake(fresh('3-0', '9-0'));
    expect(waiter.take('4-2', 10)).toEqual([message('9-0')]);
  });

  it('asks for a read when messages the reader has not seen come before the fresh ones', () => {
    const { store, wake } = fakeStore();
    const waiter = createDispatcher(store).watch('a');
    wake(fresh('6-0', '7-0'));
    expect(waiter.take('5-0', 10)).toBeUndefined();
  });

  it('answers nothing new when the fresh messages are ones the reader already read', () => {
    const { store, wake } = fakeStore();
    const waiter = createDispatcher(store).watch('a');
    wake(fresh('5-0', '6-0'));
    expect(waiter.take('6-0', 10)).toEqual([]);
  });

  it('gives up on fresh messages past a bound and asks for a read', () => {
    const { store, wake } = fakeStore();
    const waiter = createDispatcher(store).watch('a');
    for (let i = 0; i < 100; i++) wake(fresh(`${i}-0`, `${i + 1}-0`));
    expect(waiter.take('0-0', 1000)).toBeUndefined();
  });

  it('resolves wait() on a wake-up that came before it', async () => {
    const { store, wake } = fakeStore();
    const waiter = createDispatcher(store).watch('a');
    wake(fresh('0-0', '1-0'));
    await waiter.wait(60_000);
    expect(waiter.take('0-0', 10)).toEqual([message('1-0')]);
    waiter.stop();
  });
});

describe('dispatcher close()', () => {
  it('ends every wait at once and for good, for waiters made before and after it', async () => {
    const { store } = fakeStore();
    const dispatcher = createDispatcher(store);
    const before = dispatcher.watch('a');
    const waiting = before.wait(60_000);
    expect(before.closed).toBe(false);
    dispatcher.close();
    await waiting;
    expect(before.closed).toBe(true);
    await before.wait(60_000);
    const after = dispatcher.watch('b');
    expect(after.closed).toBe(true);
    await after.wait(60_000);
    before.stop();
    after.stop();
    expect(dispatcher.size()).toBe(0);
  });
});

describe('dispatcher watchLive()', () => {
  it('ends a wait on a wake-up, handing over the fresh message', async () => {
    const { store, wake } = fakeStore();
    const waiter = createDispatcher(store).watchLive('a');
    const waiting = waiter.wait();
    wake(fresh('0-0', '1-0'));
    await waiting;
    expect(waiter.take('0-0', 10)).toEqual([message('1-0')]);
    waiter.stop();
  });

  it("ends a wait when the stream's signal aborts, also one that starts after the abort", async () => {
    const { store } = fakeStore();
    const abort = new AbortController();
    const dispatcher = createDispatcher(store);
    const waiter = dispatcher.watchLive('a', abort.signal);
    const waiting = waiter.wait();
    abort.abort();
    await waiting;
    // Nothing woke it: the caller reads (or, aborted, stops).
    expect(waiter.take('0-0', 10)).toBeUndefined();
    await waiter.wait();
    waiter.stop();
    expect(dispatcher.size()).toBe(0);
  });

  it('ends a wait on close, for good', async () => {
    const { store } = fakeStore();
    const dispatcher = createDispatcher(store);
    const waiter = dispatcher.watchLive('a');
    const waiting = waiter.wait();
    dispatcher.close();
    await waiting;
    expect(waiter.closed).toBe(true);
    await waiter.wait();
    waiter.stop();
  });
});
