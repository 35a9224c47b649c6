// `deaddrop proof`: the header it prints opens the mailbox for exactly one request of the scope it
// names, as a script using curl would send it (here with fetch, to the relay's tRPC path).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAuthorization } from '@deaddrop/contract';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { DeadDropClient } from '../src/client.js';
import { createIdentity } from '../src/keystore.js';
import { runCliProcess, type CliRun } from './cli-process.js';

let relay: SpawnedRelay;
let home: string;
let relayId: string;

function proof(args: readonly string[]): Promise<CliRun> {
  return runCliProcess(['proof', ...args], { DEADDROP_HOME: home });
}

/** `curl -H "authorization: $header" $relay/trpc/stats`, answered as status and JSON. */
async function stats(header: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${relay.url}/trpc/stats`, { headers: { authorization: header } });
  return { status: response.status, body: await response.json() };
}

beforeAll(async () => {
  [relay, home] = await Promise.all([
    spawnRelay(),
    mkdtemp(join(tmpdir(), 'deaddrop-proof-home-')),
  ]);
  const alice = new DeadDropClient({
    identity: await createIdentity('alice', { relayUrl: relay.url, home }),
  });
  await alice.register();
  relayId = (await alice.info()).relayId;
  alice.close();
});

afterAll(async () => {
  await relay.stop();
  await rm(home, { recursive: true, force: true });
});

describe('deaddrop proof', () => {
  it('prints a header value that reads the mailbox once, bound to the relay the agent uses', async () => {
    const run = await proof(['alice', 'stats']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const header = run.stdout.trim();
    expect(run.stdout).toBe(`${header}\n`);
    expect(header).toMatch(/^DeadDrop [A-Za-z0-9_-]+$/);
    expect(decodeAuthorization(header)).toMatchObject({ agentId: 'alice', scope: 'stats' });

    const first = await stats(header);
    expect(first.status).toBe(200);
    expect(JSON.stringify(first.body)).toContain('"agentId":"alice"');
    // Its nonce is spent: a script needs a fresh proof for every request.
    const again = await stats(header);
    expect(again.status).toBe(401);
    expect(JSON.stringify(again.body)).toContain('AUTH_REPLAYED');
  });

  it('is refused for another procedure than its scope', async () => {
    const run = await proof(['alice', 'poll']);
    const refused = await stats(run.stdout.trim());
    expect(refused.status).toBe(401);
    expect(JSON.stringify(refused.body)).toContain('AUTH_WRONG_SCOPE');
  });

  it('signs for --relay-id without calling a relay', async () => {
    const run = await runCliProcess(
      ['proof', 'alice', 'stats', '--relay-id', relayId, '--server', 'http://127.0.0.1:9'],
      { DEADDROP_HOME: home },
    );
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect((await stats(run.stdout.trim())).status).toBe(200);
  });

  it.each([
    [
      ['alice', 'stat'],
      '"stat" is not a scope: a procedure that reads the mailbox (directory.publishPrekeys, poll, stats,',
      '(did you mean "stats"?)',
    ],
    [['alice', 'info'], '"info" is not a scope', 'or ws alone'],
    [
      ['alice', 'stats', '--relay-id', 'not a relay id'],
      '--relay-id must be 1–64 characters',
      "the relay's info shows its id",
    ],
  ])('refuses %j with exit code 2 before reading any file', async (args, start, end) => {
    const run = await runCliProcess(['proof', ...args], { DEADDROP_HOME: join(home, 'none') });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(start);
    expect(run.stderr).toContain(end);
  });
});
