// A send without an idempotency key whose store command ran but whose reply was lost (a blip
// between relay and Redis): ioredis re-sends the command, and the relay-made key must turn that
// into the first run's answer — not a 409 for a message that was stored, nor a second copy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REDIS_URL,
  makeAgent,
  mailboxClient,
  rawClient,
  register,
  seal,
  startTestRelay,
  type TestRelay,
} from './support/relay-harness.js';
import { startTcpProxy, type TcpProxy } from '@deaddrop/test-support/tcp-proxy';

describe('a send without a key, re-sent to Redis after a lost reply', () => {
  let proxy: TcpProxy;
  let relay: TestRelay;
  const alice = makeAgent('alice');
  const bob = makeAgent('bob');

  beforeAll(async () => {
    proxy = await startTcpProxy(REDIS_URL);
    relay = await startTestRelay('redis', { REDIS_URL: proxy.url });
    await register(relay.url, relay.relayId, bob);
  });
  afterAll(async () => {
    await relay.stop();
    await proxy.close();
  });

  it('is stored once and answered as a plain store', async () => {
    const ciphertext = seal(alice, bob);
    proxy.loseNextAnswer(ciphertext);
    const sent = await rawClient(relay.url).send.mutate({ to: bob.agentId, ciphertext });
    // The append's reply was swallowed, so this answer came from the re-sent command.
    expect(proxy.lost()).toBe(1);
    expect(sent.duplicate).toBe(false);

    const { messages } = await mailboxClient(relay.url, relay.relayId, bob, 'poll').poll.query({});
    expect(messages.map((message) => message.id)).toEqual([sent.id]);
    expect(await relay.services.metrics.scrape()).toMatch(/^deaddrop_messages_stored_total 1$/m);
  });
});
