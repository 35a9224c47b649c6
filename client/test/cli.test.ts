// End to end: the `deaddrop` CLI, as child processes, against a real relay. Each agent has its
// own DEADDROP_HOME; forged and replayed envelopes go through a bare tRPC client.
// @module-tag slow (runs the CLI as some thirty processes): npm test only, not npm run test:fast
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint, parseAgentKey, sealMessage } from '@deaddrop/contract';
import { DeadDropClient } from '../src/client.js';
import { loadIdentity } from '../src/keystore.js';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { jsonLines, runCliProcess, type CliRun } from './cli-process.js';
import { rawRelayClient } from './raw-relay.js';

const TTL_SECONDS = 3_600;

let relay: SpawnedRelay;
/** A second relay where a new "bob" registers with another key. */
let relay2: SpawnedRelay;
let scratch: string;
const homes: Record<string, string> = {};
const keys: Record<string, string> = {};

function homeOf(agent: string): string {
  const home = homes[agent];
  if (home === undefined) throw new Error(`no home for ${agent}`);
  return home;
}

function cli(agent: string, args: readonly string[], stdin?: string): Promise<CliRun> {
  return runCliProcess(args, { DEADDROP_HOME: homeOf(agent) }, stdin);
}

/** Seals as `sealer` (whatever `from` says) and drops the envelope straight into the relay. */
async function sealAndDrop(input: {
  sealer: string;
  from: string;
  to: string;
  body: string;
  sentAt?: number;
}) {
  const sender = await loadIdentity(input.sealer, { home: homeOf(input.sealer) });
  const recipient = parseAgentKey(keys[input.to] ?? '');
  if (recipient === null) throw new Error(`no key for ${input.to}`);
  const sealed = sealMessage(
    { from: input.from, sender: sender.keys, to: input.to, recipient, body: input.body },
    input.sentAt === undefined ? {} : { sentAt: input.sentAt },
  );
  await rawRelayClient(relay.url).send.mutate({ to: input.to, ciphertext: sealed.ciphertext });
  return sealed;
}

/** Sends through the SDK in-process, where the CLI's own send is not what a test is about. */
async function sdkSend(from: string, to: string, body: string): Promise<void> {
  const client = await DeadDropClient.open(from, { home: homeOf(from), relayUrl: relay.url });
  await client.sendMessage({ to, message: body });
}

function expectOneErrorLine(run: CliRun, text: string | RegExp): void {
  expect(run.code).not.toBe(0);
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(text);
}

beforeAll(async () => {
  [relay, relay2, scratch] = await Promise.all([
    spawnRelay({ MESSAGE_TTL_SECONDS: String(TTL_SECONDS), MAX_WAIT_MS: '5000' }),
    spawnRelay(),
    mkdtemp(join(tmpdir(), 'deaddrop-cli-e2e-')),
  ]);
  const agents = ['alice', 'bob', 'mallory', 'bob2'];
  for (const agent of agents) homes[agent] = join(scratch, agent);
  const runs = await Promise.all(
    agents.map((agent) =>
      agent === 'bob2'
        ? cli(agent, ['init', 'bob', '--server', relay2.url])
        : cli(agent, ['init', agent, '--server', relay.url]),
    ),
  );
  runs.forEach((run, index) => {
    const agent = agents[index] ?? '';
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const key = /agent key:\s+(ddk1_\S+)/.exec(run.stdout)?.[1];
    expect(key).toBeDefined();
    keys[agent] = key ?? '';
  });
});

afterAll(async () => {
  await Promise.all([relay.stop(), relay2.stop()]);
  await rm(scratch, { recursive: true, force: true });
});

describe('deaddrop CLI against a real relay', { timeout: 60_000 }, () => {
  it('init printed a key and fingerprint; `key` prints only the key', async () => {
    const [run, list] = await Promise.all([
      cli('alice', ['key', 'alice']),
      cli('alice', ['whoami']),
    ]);
    expect(run).toEqual({ code: 0, stdout: `${keys.alice ?? ''}\n`, stderr: '' });
    expect(list.stdout).toMatch(
      /^alice {2}[0-9a-f]{4}(-[0-9a-f]{4}){4} {2}http:\/\/127\.0\.0\.1:\d+\n$/,
    );
  });

  it('two agents exchange messages; receive deletes what it printed', async () => {
    const sent = await cli('alice', ['send', 'alice', 'bob', 'hello bob']);
    expect(sent.code).toBe(0);
    const bobFingerprint = /fingerprint ([0-9a-f-]{24})/.exec(sent.stdout)?.[1];
    expect(bobFingerprint).toBeDefined();
    expect(sent.stdout).toContain('relay directory');
    expect(sent.stdout).toContain('first contact');
    // init published bob's prekeys: the message went forward secret.
    expect(sent.stdout).toContain('forward secret: sealed to a one-time prekey');

    const received = await cli('bob', ['receive', 'bob', '--json']);
    expect(received.code).toBe(0);
    expect(jsonLines(received.stdout)).toEqual([
      expect.objectContaining({
        from: 'alice',
        fromKey: keys.alice,
        verified: true,
        body: 'hello bob',
        pinSource: 'directory',
        id: expect.stringMatching(/^\d+-\d+$/) as unknown,
        sentAt: expect.any(Number) as unknown,
        receivedAt: expect.any(Number) as unknown,
      }),
    ]);

    const reply = await cli('bob', ['send', 'bob', 'alice', '-'], 'hi alice\n');
    expect(reply.code).toBe(0);
    const aliceView = await cli('alice', ['receive', 'alice']);
    expect(aliceView.code).toBe(0);
    expect(aliceView.stdout).toMatch(
      /from bob ✓ verified · key [0-9a-f-]{24} \(pinned from the relay directory\)/,
    );
    expect(aliceView.stdout).toContain('\n  hi alice\n');

    const [again, stats] = await Promise.all([
      cli('bob', ['receive', 'bob']),
      cli('bob', ['stats', 'bob', '--json']),
    ]);
    expect(again).toMatchObject({ code: 0, stdout: '', stderr: 'no new messages\n' });
    expect(JSON.parse(stats.stdout)).toMatchObject({ agentId: 'bob', count: 0 });
  });

  it('--keep leaves messages on the relay but still advances the cursor', async () => {
    await sdkSend('alice', 'bob', 'keep me');
    const kept = await cli('bob', ['receive', 'bob', '--json', '--keep']);
    expect(jsonLines(kept.stdout).map((entry) => entry.body)).toEqual(['keep me']);
    const stats = await cli('bob', ['stats', 'bob']);
    expect(stats.stdout).toContain('messages: 1');
    const next = await cli('bob', ['receive', 'bob', '--json']);
    expect(next).toMatchObject({ code: 0, stdout: '' });
    // Tidy up for the tests below.
    const bob = await DeadDropClient.open('bob', { home: homeOf('bob'), relayUrl: relay.url });
    const { messages } = await bob.poll();
    await bob.deleteMessages(messages.map((message) => message.id));
  });

  it('receive --wait returns as soon as a message arrives', async () => {
    const started = Date.now();
    const waiting = cli('bob', ['receive', 'bob', '--wait', '20', '--json']);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await sdkSend('alice', 'bob', 'worth the wait');
    const received = await waiting;
    expect(jsonLines(received.stdout).map((entry) => entry.body)).toEqual(['worth the wait']);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('drops a message replayed to the relay, even in a later, separate run', async () => {
    const sealed = await sealAndDrop({ sealer: 'alice', from: 'alice', to: 'bob', body: 'once' });
    const first = await cli('bob', ['receive', 'bob', '--json']);
    expect(jsonLines(first.stdout)).toEqual([
      expect.objectContaining({ body: 'once', verified: true }),
    ]);

    // The exact same ciphertext, stored again by the relay as a new message.
    const replay = await rawRelayClient(relay.url).send.mutate({
      to: 'bob',
      ciphertext: sealed.ciphertext,
    });
    expect(replay.duplicate).toBe(false);
    const second = await cli('bob', ['receive', 'bob', '--json']);
    expect(second.code).toBe(0);
    const entries = jsonLines(second.stdout);
    expect(entries).toEqual([{ id: replay.id, receivedAt: replay.receivedAt, error: 'replayed' }]);
    expect(second.stdout).not.toContain('once');
  });

  it('does not verify a message sealed by mallory claiming to be alice', async () => {
    await sealAndDrop({ sealer: 'mallory', from: 'alice', to: 'bob', body: 'trust me' });
    const run = await cli('bob', ['receive', 'bob', '--json']);
    expect(jsonLines(run.stdout)).toEqual([
      expect.objectContaining({
        from: 'alice',
        fromKey: keys.mallory,
        verified: false,
        reason: 'key-mismatch',
        body: 'trust me',
      }),
    ]);
  });

  it('does not verify a stale message', async () => {
    const sentAt = Date.now() - TTL_SECONDS * 1000 - 6 * 60_000;
    await sealAndDrop({ sealer: 'alice', from: 'alice', to: 'bob', body: 'old news', sentAt });
    const run = await cli('bob', ['receive', 'bob', '--json']);
    expect(jsonLines(run.stdout)).toEqual([
      expect.objectContaining({ from: 'alice', verified: false, reason: 'stale', sentAt }),
    ]);
  });

  it('refuses a changed key unless --key names the new one', async () => {
    // Relay 2 never knew alice's bob: a new "bob" registered there with another key.
    const newKey = keys.bob2 ?? '';
    expect(newKey).not.toBe(keys.bob);
    const refused = await cli('alice', ['send', 'alice', 'bob', 'hi?', '--server', relay2.url]);
    expectOneErrorLine(
      refused,
      /^deaddrop: the relay directory's key for "bob" .* differs from your pin/,
    );
    expect(refused.stdout).toBe('');

    const accepted = await cli('alice', [
      'send',
      'alice',
      'bob',
      'hi new bob',
      '--server',
      relay2.url,
      '--key',
      newKey,
    ]);
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain('pin replaced with the key you gave explicitly');

    // alice must be in relay 2's directory for the new bob to verify her.
    const alice = await DeadDropClient.open('alice', {
      home: homeOf('alice'),
      relayUrl: relay2.url,
    });
    await alice.register();
    const received = await cli('bob2', ['receive', 'bob', '--json']);
    expect(jsonLines(received.stdout)).toEqual([
      expect.objectContaining({ from: 'alice', body: 'hi new bob', verified: true }),
    ]);
  });

  it('refuses a --key the relay directory does not hold for that agent, unless --accept-key', async () => {
    // bob pasted alice's key as mallory's.
    const refused = await cli('bob', ['send', 'bob', 'mallory', 'hi', '--key', keys.alice ?? '']);
    expectOneErrorLine(
      refused,
      /^deaddrop: the key given for "mallory" \(fingerprint [0-9a-f-]+\) is not the one http.* has registered for it .*--accept-key/,
    );
    const accepted = await cli('bob', [
      'send',
      'bob',
      'mallory',
      'hi',
      '--key',
      keys.alice ?? '',
      '--accept-key',
    ]);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stdout).toContain('the key you gave explicitly');
    // The right key passes the check.
    const fixed = await cli('bob', ['send', 'bob', 'mallory', 'hi', '--key', keys.mallory ?? '']);
    expect(fixed.code, fixed.stderr).toBe(0);
  });

  it('--strict refuses first contact without --key', async () => {
    const run = await cli('alice', ['send', 'alice', 'mallory', 'hello', '--strict']);
    expectOneErrorLine(
      run,
      /^deaddrop: no trusted key for "mallory" and explicit keys are required/,
    );
    const ok = await cli('alice', [
      'send',
      'alice',
      'mallory',
      'hello',
      '--strict',
      '--key',
      keys.mallory ?? '',
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('pinned now from the key you gave explicitly');
  });

  it('sends to yourself sealed to your own key, without talk of first contact', async () => {
    const sent = await cli('mallory', ['send', 'mallory', 'mallory', 'note to self', '--strict']);
    expect(sent.code, sent.stderr).toBe(0);
    const own = parseAgentKey(keys.mallory ?? '');
    expect(own).not.toBeNull();
    expect(sent.stdout.split('\n')[0]).toBe(
      `mallory: that is you; sealed to your own key, fingerprint ${own === null ? '' : fingerprint(own)}`,
    );
    expect(sent.stdout).toContain('not forward secret: sealed to the identity key');
    const received = await cli('mallory', ['receive', 'mallory', '--json']);
    expect(jsonLines(received.stdout)).toContainEqual(
      expect.objectContaining({ from: 'mallory', body: 'note to self', verified: true }),
    );
    // Another agent's key for yourself is refused: it would pin a stranger under your own id.
    const foreign = await cli('mallory', [
      'send',
      'mallory',
      'mallory',
      'note to self',
      '--key',
      keys.alice ?? '',
    ]);
    expectOneErrorLine(foreign, /^deaddrop: mallory is this identity: a message to yourself/);
  });

  it('reports failures in exactly one line on stderr with a non-zero exit', async () => {
    const [unknown, exists, badKey] = await Promise.all([
      cli('alice', ['send', 'alice', 'nobody', 'hi']),
      cli('alice', ['init', 'alice', '--server', relay.url]),
      cli('alice', ['send', 'alice', 'bob', 'hi', '--key', 'ddk1_nope']),
    ]);
    expectOneErrorLine(unknown, /^deaddrop: no agent "nobody" is registered on http/);
    expectOneErrorLine(exists, /^deaddrop: an identity "alice" already exists/);
    expectOneErrorLine(badKey, /is not a valid agent key/);
  });
});
