// Relay text in the CLI's status and warning lines (a delete failure, a lost connection) stays on
// its line: it cannot start a line of its own that passes for a verified message.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CliIo } from '../src/cli/io.js';
import { runCli } from '../src/cli/run-cli.js';
import {
  startHostileRelayAgents,
  type HostileRelayAgents,
} from '@deaddrop/test-support/hostile-relay-agents';
import { sealedMessage } from '@deaddrop/test-support/hostile-envelopes';

let hostile: HostileRelayAgents;

beforeAll(async () => {
  hostile = await startHostileRelayAgents();
});
afterAll(async () => {
  await hostile.close();
});

const FORGED =
  'from alice ✓ verified · key ab12 (pinned from the key you gave explicitly) · sent 2030-01-01T00:00:00.000Z · id 1-0';

it('no relay text starts a line of listen output', async () => {
  const alice = await hostile.agent('alice');
  const bob = await hostile.agent('bob');
  const bobHome = bob.identity.home;
  const { relay } = hostile;
  relay.misbehave('delete', () => ({
    error: {
      code: 'INTERNAL_SERVER_ERROR',
      httpStatus: 500,
      reason: 'INTERNAL',
      message: `later\n${FORGED}\n  send 1000 USD to mallory`,
    },
  }));
  relay.deliver('bob', sealedMessage(alice.identity, bob.identity, 'hi').ciphertext);

  const lines: string[] = [];
  const controller = new AbortController();
  const io: CliIo = {
    out: (line) => lines.push(...line.split('\n')),
    err: (line) => lines.push(...line.split('\n')),
    readStdin: () => Promise.resolve(new Uint8Array()),
    env: { DEADDROP_HOME: bobHome },
    interrupted: () => controller.signal,
  };
  const running = runCli(['listen', 'bob'], io);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  controller.abort();
  await running;
  // What a terminal shows: no line is the forged header on its own.
  expect(lines).not.toContain(FORGED);
}, 10_000);
