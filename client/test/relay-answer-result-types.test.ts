// A relay answering a query or mutation with a result that is not data (`started`, `stopped`)
// gets RELAY_INVALID_RESPONSE like any other bad answer: tRPC would hand its `data` over unchecked.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeadDropClient } from '../src/client.js';
import { isDeadDropError } from '../src/errors.js';
import { createIdentity, loadIdentity } from '../src/keystore.js';
import { startHostileRelay, type HostileRelay } from '@deaddrop/test-support/hostile-relay';

let relay: HostileRelay;
let scratch: string;
let bob: DeadDropClient;

beforeAll(async () => {
  relay = await startHostileRelay();
  scratch = await mkdtemp(join(tmpdir(), 'deaddrop-review-type-'));
  bob = new DeadDropClient({
    identity: await createIdentity('bob', { home: join(scratch, 'bob'), relayUrl: relay.url }),
  });
  await bob.register();
  await bob.pollAndDecrypt(); // a state file exists
});
afterAll(async () => {
  await relay.close();
  await rm(scratch, { recursive: true, force: true });
});
afterEach(() => {
  relay.behaveHonestly();
});

const stateFile = () =>
  readFile(join(scratch, 'bob', 'agents', 'bob.state.json'), 'utf8').catch(() => '(none)');

function typed(type: string, data: unknown) {
  return { raw: { status: 200, body: JSON.stringify({ result: { type, data } }) } } as const;
}

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return isDeadDropError(error) ? error.reason : `not a DeadDropError: ${String(error)}`;
  }
}

describe('review: results of another type', () => {
  it('a poll answer typed "stopped" with a bad cursor is refused and saves nothing', async () => {
    const before = await stateFile();
    relay.misbehave('poll', () => typed('stopped', { messages: [], cursor: '../../../etc' }));
    expect(await reasonOf(bob.pollAndDecrypt())).toBe('RELAY_INVALID_RESPONSE');
    expect(await stateFile()).toBe(before);
  });

  it('the mailbox still opens afterwards', async () => {
    const again = new DeadDropClient({
      identity: await loadIdentity('bob', { home: join(scratch, 'bob') }),
    });
    expect(await reasonOf(again.pollAndDecrypt())).toBe('resolved');
  });

  it('a poll answer typed "started" whose messages are not a list fails with a typed error', async () => {
    const carol = new DeadDropClient({
      identity: await createIdentity('carol', {
        home: join(scratch, 'carol'),
        relayUrl: relay.url,
      }),
    });
    await carol.register();
    relay.misbehave('poll', () => typed('started', { messages: 5, cursor: '1-0' }));
    expect(await reasonOf(carol.pollAndDecrypt())).toBe('RELAY_INVALID_RESPONSE');
  });

  it('an info answer typed "stopped" cannot claim limits past the protocol ceiling', async () => {
    relay.misbehave('info', async (call) => {
      const honest = await call.honest();
      if (!('data' in honest)) return honest;
      return typed('stopped', {
        ...honest.data,
        limits: { ...honest.data.limits, maxMessageBytes: 2 ** 40, ttlSeconds: 'forever' },
      });
    });
    const fresh = new DeadDropClient({
      identity: await loadIdentity('bob', { home: join(scratch, 'bob') }),
    });
    expect(await reasonOf(fresh.info())).toBe('RELAY_INVALID_RESPONSE');
  });
});
