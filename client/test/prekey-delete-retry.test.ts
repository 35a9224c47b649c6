// PROTOCOL §10: a used prekey's secret is deleted durably once its message is recorded as seen. A
// deletion that fails (here: a lock left by a crashed process, honoured while fresh) costs forward
// secrecy only until the next deletion, which takes the ids left over too.
// @module-tag slow (waits out the prekeys file's lock): npm test only, not npm run test:fast
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { DeadDropClient } from '../src/client.js';
import { isUnreadable, type ReceivedMessage } from '../src/inbox-entry.js';
import { createIdentity } from '../src/keystore.js';
import { PrekeySecrets } from '../src/prekey-secrets.js';

let relay: SpawnedRelay;
let scratch: string;

beforeAll(async () => {
  [relay, scratch] = await Promise.all([
    spawnRelay(),
    mkdtemp(join(tmpdir(), 'deaddrop-prekey-delete-retry-')),
  ]);
});
afterAll(async () => {
  await relay.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function newAgent(agentId: string): Promise<DeadDropClient> {
  const identity = await createIdentity(agentId, {
    home: join(scratch, agentId),
    relayUrl: relay.url,
  });
  const client = new DeadDropClient({ identity, receipts: false });
  await client.register();
  return client;
}

it('a prekey secret whose deletion failed once is deleted by a later success', async () => {
  const [alice, bob] = [await newAgent('alice'), await newAgent('bob')];
  const lock = join(bob.identity.home, 'agents', `${bob.agentId}.prekeys.json.lock`);
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(warning.message);
  };
  process.on('warning', onWarning);
  try {
    const first = await alice.sendMessage({ to: bob.agentId, message: 'one' });
    expect(first.forwardSecret).toBe(true);
    // A crashed holder's lock, seconds old: honoured for 30 s.
    await writeFile(lock, '');
    const [read] = await bob.pollAndDecrypt();
    expect(read !== undefined && !isUnreadable(read) && read.forwardSecret).toBe(true);
    const firstPrekey = (read as ReceivedMessage).prekeyId;
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.some((w) => w.includes('could not delete used one-time prekey'))).toBe(true);

    // The lock goes; the next forward-secret read's deletion succeeds.
    await rm(lock, { force: true });
    await alice.sendMessage({ to: bob.agentId, message: 'two' });
    expect(await bob.pollAndDecrypt()).toHaveLength(1);

    const secrets = new PrekeySecrets(bob.identity.home, bob.agentId);
    expect(firstPrekey).toBeDefined();
    expect(await secrets.find(firstPrekey ?? '')).toBeUndefined();
  } finally {
    process.off('warning', onWarning);
    await rm(lock, { force: true });
    alice.close();
    bob.close();
  }
}, 40_000);
