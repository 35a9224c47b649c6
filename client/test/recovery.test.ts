// End to end: a relay process on a redis-server of the test's own, without persistence, restarted
// (the store loses every registration while the relay keeps running): the SDK registers its
// identity again, says so in a warning, and keeps working — polls, sends and live inboxes over SSE
// and WebSocket (PROTOCOL §10 "Re-registration"). An id taken by another key meanwhile is a typed
// AGENT_ID_TAKEN.
// @module-tag slow (restarts its redis-server): npm test only, not npm run test:fast
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  onTestFailed,
} from 'vitest';
import { DeadDropClient } from '../src/client.js';
import { isDeadDropError } from '../src/errors.js';
import { isUnreadable } from '../src/inbox-entry.js';
import { createIdentity, loadIdentity } from '../src/keystore.js';
import { startRedisServer, type RedisServerProcess } from '@deaddrop/test-support/redis-server';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { runCliProcess } from './cli-process.js';

let redis: RedisServerProcess;
let relay: SpawnedRelay;
let scratch: string;
let counter = 0;
const warnings: string[] = [];
const onWarning = (warning: Error): void => {
  warnings.push(warning.message);
};

async function newClient(agentId = `agent-${counter++}`): Promise<DeadDropClient> {
  const identity = await createIdentity(agentId, {
    home: join(scratch, `${agentId}-${counter++}`),
    relayUrl: relay.url,
  });
  return new DeadDropClient({ identity });
}

const reregistered = (client: DeadDropClient) =>
  warnings.filter(
    (warning) => warning.includes(`"${client.agentId}"`) && warning.includes('registered'),
  );

beforeAll(async () => {
  redis = await startRedisServer({ persistence: false });
  [relay, scratch] = await Promise.all([
    spawnRelay({ REDIS_URL: redis.url }),
    mkdtemp(join(tmpdir(), 'deaddrop-recovery-')),
  ]);
}, 60_000);

afterAll(async () => {
  await relay.stop();
  await redis.stop();
  await rm(scratch, { recursive: true, force: true });
});

beforeEach(() => {
  // What the relay said is the first thing to read when one of these fails.
  onTestFailed(() => {
    console.error(
      `relay output (exit ${String(relay.child.exitCode)}):\n${relay.output().slice(-4_000)}`,
    );
  });
  warnings.length = 0;
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});

/** Restarts Redis empty, and waits until the relay answers from the new one. */
async function loseTheStore(client: DeadDropClient): Promise<void> {
  await redis.restart();
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await client.lookup(client.agentId);
    } catch (error) {
      if (isDeadDropError(error, 'AGENT_NOT_FOUND')) return;
      if (Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('after the relay lost its store', () => {
  it('polls, sends and is sent to again, re-registering once', { timeout: 60_000 }, async () => {
    const alice = await newClient();
    const bob = await newClient();
    await alice.register();
    await bob.register();
    await alice.sendMessage({ to: bob.agentId, message: 'before' });
    expect((await bob.poll()).messages).toHaveLength(1);

    await loseTheStore(bob);
    // Both refused calls share one registration.
    const [polled, stats] = await Promise.all([bob.poll(), bob.stats()]);
    expect(polled.messages).toEqual([]);
    expect(stats.count).toBe(0);
    expect(reregistered(bob)).toHaveLength(1);
    await expect(bob.lookup(bob.agentId)).resolves.toMatchObject({ agentKey: bob.agentKey });

    // Alice's pin of bob still matches: the same identity registered again.
    await alice.sendMessage({ to: bob.agentId, message: 'after' });
    const after = await bob.pollAndDecrypt();
    expect(after.map((entry) => (isUnreadable(entry) ? entry.error : entry.body))).toEqual([
      'after',
    ]);
    // Alice re-registers on her next mailbox call too.
    await expect(alice.stats()).resolves.toMatchObject({ agentId: alice.agentId });
    expect(reregistered(alice)).toHaveLength(1);
  });

  it.each(['sse', 'ws'] as const)(
    'a live inbox over %s re-registers and receives',
    { timeout: 60_000 },
    async (transport) => {
      const alice = await newClient();
      const bob = await newClient();
      await alice.register();
      await bob.register();
      await loseTheStore(bob);

      const controller = new AbortController();
      const inbox = bob.inbox({ transport, signal: controller.signal });
      const first = inbox.next();
      // The inbox re-registers bob before alice can find him.
      const deadline = Date.now() + 20_000;
      while (reregistered(bob).length === 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(reregistered(bob)).toHaveLength(1);
      await alice.sendMessage({ to: bob.agentId, message: `live over ${transport}` });
      const entry = (await first).value;
      controller.abort();
      await inbox.return(undefined);
      expect(entry !== undefined && !isUnreadable(entry) ? entry.body : entry).toBe(
        `live over ${transport}`,
      );
    },
  );

  it(
    'fails with AGENT_ID_TAKEN when another key took the id meanwhile',
    { timeout: 60_000 },
    async () => {
      const agentId = `agent-${counter++}`;
      const usurper = await newClient(agentId);
      // Another key claims the id between the relay's refusal and carol's registering again.
      let armed = false;
      const racingFetch: typeof fetch = async (input, init) => {
        const url = input instanceof Request ? input.url : String(input);
        if (armed && url.includes('directory.register')) {
          armed = false;
          await usurper.register();
        }
        return fetch(input, init);
      };
      const identity = await createIdentity(agentId, {
        home: join(scratch, `carol-${counter++}`),
        relayUrl: relay.url,
      });
      const carol = new DeadDropClient({ identity, fetch: racingFetch });
      await carol.register();
      await loseTheStore(carol);
      armed = true;

      const refusal = await carol.poll().then(
        () => null,
        (error: unknown) => error,
      );
      expect(armed).toBe(false);
      expect(isDeadDropError(refusal, 'AGENT_ID_TAKEN')).toBe(true);
      expect(String(refusal)).toContain('lost the registration');
      expect(reregistered(carol)).toEqual([]);
      await expect(usurper.stats()).resolves.toMatchObject({ agentId });
    },
  );
});

describe('the CLI after the relay lost its store', () => {
  it(
    'init says to register, register does, and receive keeps working',
    { timeout: 90_000 },
    async () => {
      const agentId = `cli-${counter++}`;
      const env = { DEADDROP_HOME: join(scratch, `cli-home-${counter++}`) };
      const cli = (args: readonly string[]) => runCliProcess(args, env);
      const init = await cli(['init', agentId, '--server', relay.url]);
      expect(init.code).toBe(0);
      const identity = await loadIdentity(agentId, { home: env.DEADDROP_HOME });
      const client = new DeadDropClient({ identity });
      const already = await cli(['register', agentId]);
      expect(already.code).toBe(0);
      expect(already.stdout).toContain(`${agentId} is already registered on ${relay.url}`);

      await loseTheStore(client);
      const again = await cli(['init', agentId, '--server', relay.url]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`run \`deaddrop register ${agentId}\``);
      const registered = await cli(['register', agentId]);
      expect(registered.code).toBe(0);
      expect(registered.stdout).toContain(`registered ${agentId} on ${relay.url}`);
      await expect(client.lookup(agentId)).resolves.toMatchObject({ agentKey: identity.agentKey });

      // Lost again: a plain `receive` registers on its own, with the SDK's warning on stderr.
      await loseTheStore(client);
      const received = await cli(['receive', agentId]);
      expect(received.code).toBe(0);
      expect(received.stderr).toContain('registered the identity again');
      await expect(client.lookup(agentId)).resolves.toMatchObject({ agentKey: identity.agentKey });

      // Taken by another key meanwhile: register says so and fails.
      await loseTheStore(client);
      const usurper = await newClient(agentId);
      await usurper.register();
      const taken = await cli(['register', agentId]);
      expect(taken.code).toBe(1);
      expect(taken.stderr).toContain('is taken');
    },
  );
});
