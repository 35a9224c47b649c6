// Two relays on one Redis whose clocks disagree (PROTOCOL §3 "Mailbox auth"): a proof taken by
// the relay whose clock is ahead must stay refused at the one behind for as long as that one accepts
// its `ts`, though the nonce's lifetime was worked out on the other's clock.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  authHeader,
  makeAgent,
  rawClient,
  register,
  rejection,
  startTestRelay,
  type TestRelay,
} from './support/relay-harness.js';

const SKEW_MS = 4_000;
const WINDOW_MS = 1_000;
const RELAY_ID = 'relay-clock-skew';
const realNow = Date.now.bind(Date);
const aheadNow = (): number => realNow() + SKEW_MS;

function sleepUntilReal(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - realNow())));
}

describe('proof nonces between relays whose clocks differ', () => {
  let ahead: TestRelay;
  let behind: TestRelay;
  const bob = makeAgent('bob');

  beforeAll(async () => {
    // Both relays live in this process, so the store drivers read one Date.now: make it the ahead
    // relay's, as in its own process (it is the one that records the nonce). The other relay's
    // auth reads the real clock through its `now`.
    vi.spyOn(Date, 'now').mockImplementation(aheadNow);
    const env = { AUTH_WINDOW_SECONDS: String(WINDOW_MS / 1000), DEADDROP_RELAY_ID: RELAY_ID };
    ahead = await startTestRelay('redis', env, { now: aheadNow });
    behind = await startTestRelay(
      'redis',
      { ...env, REDIS_KEY_PREFIX: ahead.keyPrefix },
      { now: realNow },
    );
    // Signed with the (ahead) process clock, so registered where that clock is the relay's.
    await register(ahead.url, RELAY_ID, bob);
  });
  afterAll(async () => {
    // First, whatever else fails: the worker goes on to other files (isolate: false).
    vi.restoreAllMocks();
    await Promise.all([ahead.stop(), behind.stop()]);
  });

  it('refuses at the relay behind a proof the relay ahead took, once it is fresh there', async () => {
    const ts = aheadNow();
    const header = authHeader(RELAY_ID, bob, 'poll', { ts });
    await expect(rawClient(ahead.url, () => header).poll.query({})).resolves.toMatchObject({
      messages: [],
    });

    // The relay behind accepts `ts` from real time ts - WINDOW_MS on (≈ 3 s from now).
    await sleepUntilReal(ts - WINDOW_MS + 200);
    expect(await rejection(rawClient(behind.url, () => header).poll.query({}))).toMatchObject({
      status: 401,
      reason: 'AUTH_REPLAYED',
    });
    // Refused as a replay, not as stale: the same `ts` under a fresh nonce is taken there.
    const fresh = authHeader(RELAY_ID, bob, 'poll', { ts });
    await expect(rawClient(behind.url, () => fresh).poll.query({})).resolves.toMatchObject({
      messages: [],
    });
  });
});
