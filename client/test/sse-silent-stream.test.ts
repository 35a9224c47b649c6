// A live inbox the relay holds open in silence is reconnected by the SDK's own idle deadline,
// whether or not the relay advised one in a `connected` event.
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  startHostileRelayAgents,
  type HostileRelayAgents,
} from '@deaddrop/test-support/hostile-relay-agents';

let hostile: HostileRelayAgents;
let agents = 0;
beforeAll(async () => {
  hostile = await startHostileRelayAgents();
});
afterAll(async () => {
  await hostile.close();
});

async function attemptsWithin(ms: number, script: () => unknown): Promise<number> {
  const bob = await hostile.agent(`bob-${agents++}`, { liveIdleTimeoutMs: 2_000 });
  const { relay } = hostile;
  relay.misbehave('inbox', script as never);
  const before = relay.callsTo('inbox').length;
  const controller = new AbortController();
  const reading = (async () => {
    try {
      for await (const entry of bob.inbox({ signal: controller.signal }))
        expect(entry).toBeDefined();
    } catch {
      /* ended */
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, ms));
  controller.abort();
  await reading;
  return relay.callsTo('inbox').length - before;
}

it('a stream that advises an inactivity deadline, then falls silent, is reconnected', async () => {
  const attempts = await attemptsWithin(4_500, () => ({
    preamble: false,
    events: [
      { raw: 'retry: 1000\nevent: connected\ndata: {"reconnectAfterInactivityMs":5000}\n\n' },
    ],
    then: 'hang',
  }));
  expect(attempts).toBeGreaterThan(1);
}, 15_000);

it('a stream that never sends `connected` and falls silent is reconnected too', async () => {
  const attempts = await attemptsWithin(6_500, () => ({
    preamble: false,
    events: [{ raw: ': hello\n\n' }],
    then: 'hang',
  }));
  expect(attempts).toBeGreaterThan(1);
}, 15_000);
