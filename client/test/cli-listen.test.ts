// End to end: `deaddrop listen` as a child process against a real relay: it prints what arrives
// while it runs, and Ctrl-C (SIGINT) ends it cleanly with exit code 0.
// @module-tag slow (runs the CLI and relays as processes, and stops relays): npm test only, not npm run test:fast
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadDropClient } from '../src/client.js';
import { createIdentity } from '../src/keystore.js';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { jsonLines, runCliProcess, type CliRun } from './cli-process.js';

let relay: SpawnedRelay;
let scratch: string;
let alice: DeadDropClient;
let bob: DeadDropClient;

beforeAll(async () => {
  [relay, scratch] = await Promise.all([
    spawnRelay(),
    mkdtemp(join(tmpdir(), 'deaddrop-cli-listen-')),
  ]);
  const register = async (agentId: string) => {
    const identity = await createIdentity(agentId, {
      home: join(scratch, agentId),
      relayUrl: relay.url,
    });
    const client = new DeadDropClient({ identity });
    await client.register();
    return client;
  };
  [alice, bob] = await Promise.all([register('alice'), register('bob')]);
});

afterAll(async () => {
  await relay.stop();
  await rm(scratch, { recursive: true, force: true });
});

/** `deaddrop listen <agent> …` running; `until` waits for text on one of its streams. */
function listen(args: readonly string[], agent = 'bob') {
  let child: ChildProcessWithoutNullStreams | undefined;
  const output = { stdout: '', stderr: '' };
  const exited: Promise<CliRun> = runCliProcess(
    ['listen', agent, ...args],
    { DEADDROP_HOME: join(scratch, agent) },
    undefined,
    (spawned) => {
      child = spawned;
      spawned.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
      spawned.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
    },
  );
  return {
    exited,
    async until(stream: 'stdout' | 'stderr', text: string, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!output[stream].includes(text)) {
        if (Date.now() > deadline) {
          throw new Error(
            `no "${text}" on ${stream}; stdout: ${output.stdout} stderr: ${output.stderr}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    interrupt() {
      child?.kill('SIGINT');
    },
  };
}

describe('deaddrop listen', () => {
  it('prints messages sent while it runs, deletes them, and exits 0 on SIGINT', async () => {
    const running = listen(['--json']);
    await running.until('stderr', 'listening as bob');
    const sent = await alice.sendMessage({ to: 'bob', message: 'live hello' });
    await running.until('stdout', 'live hello');
    const second = await alice.sendMessage({ to: 'bob', message: { n: 2 } });
    await running.until('stdout', second.id);
    running.interrupt();
    const run = await running.exited;

    expect(run.code).toBe(0);
    expect(jsonLines(run.stdout)).toEqual([
      expect.objectContaining({ id: sent.id, from: 'alice', body: 'live hello', verified: true }),
      expect.objectContaining({ id: second.id, body: { n: 2 } }),
    ]);
    expect(run.stderr).toContain(`listening as bob on ${relay.url} over sse`);
    expect((await bob.stats()).count).toBe(0);
    expect(await bob.pollAndDecrypt()).toEqual([]);
  });

  it('over a WebSocket with --keep, prints in the receive format and leaves mail on the relay', async () => {
    const sent = await alice.sendMessage({ to: 'bob', message: 'kept for later' });
    const running = listen(['--ws', '--keep']);
    await running.until('stdout', 'kept for later');
    running.interrupt();
    const run = await running.exited;

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`from alice ✓ verified`);
    expect(run.stdout).toContain(`id ${sent.id}`);
    expect(run.stderr).toContain('over ws');
    expect((await bob.stats()).count).toBe(1);
  });

  it.each([
    ['sse', [], '(lost the live connection to the relay at RELAY (the relay closed the stream))'],
    ['ws', ['--ws'], '(the relay at RELAY ended the live inbox)'],
  ] as const)(
    'over %s, says why the connection was lost and why it cannot come back when the relay stops',
    async (transport, flags, lostBecause) => {
      const ownRelay = await spawnRelay();
      try {
        const agent = `dave-${transport}`;
        const identity = await createIdentity(agent, {
          home: join(scratch, agent),
          relayUrl: ownRelay.url,
        });
        await new DeadDropClient({ identity }).register();
        const running = listen(flags, agent);
        try {
          await running.until('stderr', 'listening as');
          await ownRelay.stop();
          // The relay is gone: the next attempts are refused, and the listener says so.
          await running.until('stderr', 'ECONNREFUSED');
        } finally {
          running.interrupt();
        }
        const run = await running.exited;
        expect(run.code).toBe(0);
        const lines = run.stderr.trimEnd().split('\n');
        expect(lines[1]).toBe(
          `connection lost ${lostBecause.replace('RELAY', ownRelay.url)}; reconnecting`,
        );
        expect(run.stderr).not.toContain('Unknown error');
        expect(lines).toContainEqual(
          expect.stringMatching(
            /^still reconnecting \(lost the live connection to the relay at http:\/\/127\.0\.0\.1:\d+ \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)\)$/,
          ),
        );
      } finally {
        await ownRelay.stop();
      }
    },
    30_000,
  );
});
