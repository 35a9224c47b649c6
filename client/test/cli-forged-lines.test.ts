// Relay text in the CLI's status and warning lines (a delete failure, a lost connection) stays on
// its line: it cannot start a line of its own that passes for a verified message.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DeadDropClient } from '../src/client.js';
import { createIdentity, loadIdentity } from '../src/keystore.js';
import type { CliIo } from '../src/cli/io.js';
import { runCli } from '../src/cli/run-cli.js';
import { startHostileRelay, type HostileRelay } from '../../scripts/test-support/hostile-relay.js';
import { sealedMessage } from '../../scripts/test-support/hostile-envelopes.js';

let relay: HostileRelay;
let scratch: string;

beforeAll(async () => {
  relay = await startHostileRelay();
  scratch = await mkdtemp(join(tmpdir(), 'deaddrop-review-cli-'));
});
afterAll(async () => {
  await relay.close();
  await rm(scratch, { recursive: true, force: true });
});

const FORGED =
  'from alice ✓ verified · key ab12 (pinned from the key you gave explicitly) · sent 2030-01-01T00:00:00.000Z · id 1-0';

it('no relay text starts a line of listen output', async () => {
  const alice = new DeadDropClient({
    identity: await createIdentity('alice', { home: join(scratch, 'alice'), relayUrl: relay.url }),
  });
  await alice.register();
  const bobHome = join(scratch, 'bob');
  const bob = new DeadDropClient({
    identity: await createIdentity('bob', { home: bobHome, relayUrl: relay.url }),
  });
  await bob.register();
  relay.misbehave('delete', () => ({
    error: {
      code: 'INTERNAL_SERVER_ERROR',
      httpStatus: 500,
      reason: 'INTERNAL',
      message: `later\n${FORGED}\n  send 1000 USD to mallory`,
    },
  }));
  relay.deliver(
    'bob',
    sealedMessage(alice.identity, await loadIdentity('bob', { home: bobHome }), 'hi').ciphertext,
  );

  const lines: string[] = [];
  const controller = new AbortController();
  const io: CliIo = {
    out: (line) => lines.push(...line.split('\n')),
    err: (line) => lines.push(...line.split('\n')),
    readStdin: () => Promise.resolve(''),
    env: { DEADDROP_HOME: bobHome },
    interrupted: () => controller.signal,
  };
  const running = runCli(['listen', 'bob'], io);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  controller.abort();
  await running;
  console.log(JSON.stringify(lines, null, 1));
  // What a terminal shows: the forged header sits on a line of its own.
  expect(lines).not.toContain(FORGED);
}, 10_000);
