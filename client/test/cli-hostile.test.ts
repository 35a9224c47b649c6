// The `deaddrop` CLI, as child processes, against a hostile relay and hostile senders (issue 12):
// it reads past a jamming message, refuses bad relay answers with one line and its state file
// untouched, gives up on a relay that never answers, and prints what senders and relays wrote
// only as inert text.
// @module-tag slow (runs the CLI as some twenty processes): npm test only, not npm run test:fast
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeadDropClient } from '../src/client.js';
import { createIdentity, loadIdentity } from '../src/keystore.js';
import { startHostileRelay, type HostileRelay } from '@deaddrop/test-support/hostile-relay';
import { jsonLines, runCliProcess, type CliRun } from './cli-process.js';
import {
  innerWithBody,
  nestedArrays,
  sealedInner,
  sealedMessage,
} from '@deaddrop/test-support/hostile-envelopes';

let relay: HostileRelay;
let scratch: string;
let alice: DeadDropClient;
let bobHome: string;

function cli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runCliProcess(args, { DEADDROP_HOME: bobHome, DEADDROP_REQUEST_TIMEOUT: '1s', ...env });
}

async function bobIdentity() {
  return loadIdentity('bob', { home: bobHome });
}

function bobState(): Promise<string> {
  return readFile(join(bobHome, 'agents', 'bob.state.json'), 'utf8').catch(() => '(none)');
}

/** ESC, BEL or CSI anywhere: what a terminal would act on. */
function hasControl(text: string): boolean {
  return ['\u001b', '\u0007', '\u009b'].some((character) => text.includes(character));
}

function expectOneErrorLine(run: CliRun, text: string | RegExp): void {
  expect(run.code).toBe(1);
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(text);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

beforeAll(async () => {
  [relay, scratch] = await Promise.all([
    startHostileRelay({ limits: { maxWaitMs: 1_000 } }),
    mkdtemp(join(tmpdir(), 'deaddrop-cli-hostile-')),
  ]);
  bobHome = join(scratch, 'bob');
  alice = new DeadDropClient({
    identity: await createIdentity('alice', { home: join(scratch, 'alice'), relayUrl: relay.url }),
  });
  await alice.register();
  const init = await cli(['init', 'bob', '--server', relay.url]);
  expect(init.code, init.stderr).toBe(0);
});

afterAll(async () => {
  await relay.close();
  await rm(scratch, { recursive: true, force: true });
});

afterEach(async () => {
  relay.behaveHonestly();
  await cli(['receive', 'bob', '--json']);
});

describe('deaddrop against hostile senders and a hostile relay', () => {
  it('receives past a message that nests 2,000 arrays, reporting it and moving on', async () => {
    const bob = await bobIdentity();
    relay.deliver('bob', sealedMessage(alice.identity, bob, 'before').ciphertext);
    relay.deliver(
      'bob',
      sealedInner(alice.identity, bob, innerWithBody(alice.identity, bob, nestedArrays(2_000))),
    );
    relay.deliver('bob', sealedMessage(alice.identity, bob, 'after').ciphertext);

    const run = await cli(['receive', 'bob']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('\n  before\n');
    expect(run.stdout).toContain('\n  after\n');
    expect(run.stderr).toMatch(/warning: message \S+ skipped: bad-inner/);
    expect(await cli(['receive', 'bob'])).toMatchObject({ code: 0, stderr: 'no new messages\n' });
  });

  it('refuses a poll answer with a bad cursor in one line and leaves its state file as it was', async () => {
    relay.deliver('bob', sealedMessage(alice.identity, await bobIdentity(), 'waits').ciphertext);
    const before = await bobState();
    relay.misbehave('poll', async (call) => {
      const honest = await call.honest();
      return 'data' in honest
        ? { data: { ...honest.data, cursor: 'not-a-message-id/../../x' } }
        : honest;
    });
    expectOneErrorLine(await cli(['receive', 'bob']), /^deaddrop: the relay at \S+ misbehaved/);
    expect(await bobState()).toBe(before);

    relay.behaveHonestly();
    const run = await cli(['receive', 'bob', '--json']);
    expect(jsonLines(run.stdout).map((entry) => entry.body)).toEqual(['waits']);
  });

  it('gives up on a relay that never answers, within DEADDROP_REQUEST_TIMEOUT', async () => {
    relay.misbehave('poll', () => ({ hang: true }));
    const started = Date.now();
    expectOneErrorLine(await cli(['receive', 'bob']), /no answer from the relay .* within/);
    expect(Date.now() - started).toBeLessThan(10_000);
    relay.misbehave('stats', () => ({ trickle: { intervalMs: 100 } }));
    expectOneErrorLine(await cli(['stats', 'bob']), /no answer from the relay/);
  });

  it('prints what a sender wrote as inert text, never terminal control sequences', async () => {
    const sneaky = 'hi\u001b[2J\u001b]0;pwned\u0007\u009b31m\nfrom carol ✓ verified · fake header';
    const bob = await bobIdentity();
    relay.deliver('bob', sealedMessage(alice.identity, bob, sneaky).ciphertext);
    const human = await cli(['receive', 'bob']);
    expect(human.code).toBe(0);
    expect(hasControl(human.stdout)).toBe(false);
    expect(human.stdout).toContain('hi\\u001b[2J\\u001b]0;pwned\\u0007\\u009b31m');
    // The forged header line is indented like every body line.
    expect(human.stdout).toContain('\n  from carol ✓ verified · fake header\n');

    relay.deliver('bob', sealedMessage(alice.identity, bob, sneaky).ciphertext);
    const json = await cli(['receive', 'bob', '--json']);
    expect(hasControl(json.stdout)).toBe(false);
    expect(jsonLines(json.stdout).map((entry) => entry.body)).toEqual([sneaky]);
  });

  it('prints a relay’s error message as inert text too', async () => {
    relay.misbehave('stats', () => ({
      error: {
        code: 'BAD_REQUEST',
        httpStatus: 400,
        reason: 'BAD_INPUT',
        message: 'nope\u001b[31m red \u001b]8;;http://evil\u0007link',
      },
    }));
    const run = await cli(['stats', 'bob']);
    expect(run.code).toBe(1);
    expect(hasControl(run.stderr)).toBe(false);
    expect(run.stderr).toContain('\\u001b[31m');
  });

  it('stops listening with one line when the live inbox sends an event past the bound', async () => {
    relay.misbehave('inbox', () => ({
      events: [{ raw: 'data: {"json":"' }, { repeat: 'x'.repeat(65_536), times: 40 }],
      then: 'hang',
    }));
    const run = await cli(['listen', 'bob']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /deaddrop: the relay misbehaved: its live inbox sent an event of more than/,
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
