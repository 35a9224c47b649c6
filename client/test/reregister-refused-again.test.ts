// A relay that keeps answering AGENT_NOT_REGISTERED, also to the prekey top-up that `register()`
// runs, fails the call instead of hanging it forever (from the review of issue 15). The SDK's
// re-registration awaits `register()`, which tops up prekeys with a mailbox call; that call's own
// AGENT_NOT_REGISTERED used to await the re-registration under way — itself. Calls made during a
// recovery now never recover (relay-calls.ts), and the top-up's failure is a warning.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  relayFault,
  startHostileRelay,
  type HostileRelay,
} from '@deaddrop/test-support/hostile-relay';
import { DeadDropClient } from '../src/client.js';
import { createIdentity } from '../src/keystore.js';

let relay: HostileRelay;
let scratch: string;

beforeAll(async () => {
  [relay, scratch] = await Promise.all([
    startHostileRelay(),
    mkdtemp(join(tmpdir(), 'deaddrop-reregister-refused-')),
  ]);
});
afterAll(async () => {
  await relay.close();
  await rm(scratch, { recursive: true, force: true });
});

it('a mailbox call refused as AGENT_NOT_REGISTERED again during re-registration settles', async () => {
  const identity = await createIdentity('bob', { home: join(scratch, 'bob'), relayUrl: relay.url });
  const bob = new DeadDropClient({ identity, requestTimeoutMs: 1_000 });
  // The store "lost" bob, and loses him again right after each registration (or the relay lies).
  relay.misbehave('stats', () => ({ error: relayFault('AGENT_NOT_REGISTERED') }));
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    bob.stats().then(
      () => 'resolved',
      () => 'rejected',
    ),
    new Promise<string>((resolve) => {
      timer = setTimeout(() => {
        resolve('still pending after 5 s');
      }, 5_000);
    }),
  ]);
  clearTimeout(timer);
  bob.close();
  expect(outcome).toBe('rejected');
}, 15_000);
