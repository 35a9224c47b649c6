// One conformance suite for every MailboxStore driver (PROTOCOL §3–4). Each driver's test file
// calls `describeMailboxStore` with a factory that opens a store on fresh, isolated storage.
import { afterEach, describe } from 'vitest';
import type { MailboxStore, StoreOptions } from '../src/store/mailbox-store.js';
import { describeDirectory } from './store-conformance/directory.js';
import { DEFAULT_OPTIONS, type SuiteContext } from './store-conformance/fixtures.js';
import { describeHooks } from './store-conformance/hooks.js';
import { describeLimits } from './store-conformance/limits.js';
import { describeMessages } from './store-conformance/messages.js';
import { describePersistence } from './store-conformance/persistence.js';
import { describePrekeys } from './store-conformance/prekeys.js';
import { describeRateLimits } from './store-conformance/rate-limits.js';
import { describeRotations } from './store-conformance/rotations.js';
import { describeWatch } from './store-conformance/watch.js';

export interface ConformanceHooks {
  /** Closes `store` and opens a new one on the same storage (same data dir, same key prefix). */
  readonly reopen?: (store: MailboxStore, options: StoreOptions) => Promise<MailboxStore>;
  /** Every value `store`'s storage holds, as text, to check what is (not) stored. */
  readonly rawContents?: (store: MailboxStore) => Promise<string>;
}

export function describeMailboxStore(
  name: string,
  makeStore: (options: StoreOptions) => Promise<MailboxStore>,
  hooks: ConformanceHooks = {},
): void {
  describe(`MailboxStore conformance: ${name}`, () => {
    const opened = new Set<MailboxStore>();

    afterEach(async () => {
      const stores = [...opened];
      opened.clear();
      await Promise.all(stores.map((store) => store.close()));
    });

    const { reopen, rawContents } = hooks;
    const context: SuiteContext = {
      async open(options = DEFAULT_OPTIONS) {
        const store = await makeStore(options);
        opened.add(store);
        return store;
      },
      reopen: reopen
        ? async (store, options = DEFAULT_OPTIONS) => {
            opened.delete(store);
            const next = await reopen(store, options);
            opened.add(next);
            return next;
          }
        : undefined,
      rawContents,
    };

    describeDirectory(context);
    describeMessages(context);
    describeLimits(context);
    describeRateLimits(context);
    describeWatch(context);
    describePersistence(context);
    describeHooks(context);
    describePrekeys(context);
    describeRotations(context);
  });
}
