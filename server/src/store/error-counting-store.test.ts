import { describe, expect, it } from 'vitest';
import { countStoreErrors } from './error-counting-store.js';
import { StoreUnavailableError, type MailboxStore } from './mailbox-store.js';

describe('store error counting', () => {
  it('counts failures by kind and reports an outage and the recovery once each', async () => {
    const answers: (Error | null)[] = [
      new StoreUnavailableError('down'),
      new StoreUnavailableError('down'),
      new Error('bug'),
      null,
      null,
      new StoreUnavailableError('down again'),
    ];
    const store = {
      kind: 'redis',
      ping: () => {
        const answer = answers.shift();
        return answer ? Promise.reject(answer) : Promise.resolve();
      },
    } as Pick<MailboxStore, 'kind' | 'ping'> as MailboxStore;
    const failures: string[] = [];
    const availability: boolean[] = [];
    const counted = countStoreErrors(
      store,
      (kind) => failures.push(kind),
      (available) => availability.push(available),
    );
    for (let i = 0; i < 6; i++) await counted.ping().catch(() => undefined);
    expect(failures).toEqual(['unavailable', 'unavailable', 'internal', 'unavailable']);
    expect(availability).toEqual([false, true, false]);
  });
});
