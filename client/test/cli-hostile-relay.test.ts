// The `deaddrop` CLI against a relay that lies, for what cli-hostile.test.ts leaves out (issue 12):
// mail re-served under old or new ids, cursors that go back, reordered poll answers, replays under
// changing TTL claims, a swapped or misdirected directory key, huge and malformed live events, and
// answers that trickle or never come. Whatever the relay does, a command ends in bounded time with
// exit 0 or exit 1 and one readable line (never a stack), never prints a replay or an impostor's
// message as verified, and leaves a state file that a later honest read goes on from.
// Commands run in-process (runCli with an injected CliIo); only the two timeouts run as processes,
// where what counts is that the process itself exits, no socket left holding it open.
// @module-tag slow (runs the CLI as two processes, and waits out relay timeouts): npm test only, not npm run test:fast
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type StoredMessage } from '@deaddrop/contract';
import type { CliIo } from '../src/cli/io.js';
import { runCli } from '../src/cli/run-cli.js';
import { DeadDropClient } from '../src/client.js';
import { createIdentity, loadIdentity, type Identity } from '../src/keystore.js';
import { startHostileRelay, type HostileRelay } from '@deaddrop/test-support/hostile-relay';
import { sealedMessage } from '@deaddrop/test-support/hostile-envelopes';
import { jsonLines, runCliProcess } from './cli-process.js';

const MIN = 60_000;
const TEN_YEARS_S = 10 * 365 * 86_400;
/** DEADDROP_REQUEST_TIMEOUT for every run: what a call that never ends must end within. */
const REQUEST_TIMEOUT = '1s';
const REQUEST_TIMEOUT_MS = 1_000;
/** On top of the timeout, for an in-process run on a busy machine. */
const SLACK_MS = 2_500;
/** On top of the timeout, for a process: starting Node and tsx takes seconds on a busy machine. */
const PROCESS_SLACK_MS = 9_000;
/** A frame of a stack trace as Node prints one (`at fn (file:///x.ts:1:2)`), even on one line. */
const STACK_FRAME = /\bat (?:async )?(?:\S+ \()?(?:file:\/\/|node:|\/)\S*:\d+:\d+/;

let relay: HostileRelay;
let scratch: string;
let alice: DeadDropClient;
let mallory: DeadDropClient;
let carol: DeadDropClient;
let bobHome: string;
let bob: Identity;

interface CliResult {
  readonly code: number;
  /** stdout as a terminal gets it: each line with its newline. */
  readonly out: string;
  /** stderr, one entry per line written. */
  readonly err: readonly string[];
  readonly ms: number;
}

interface RunningCli {
  readonly finished: Promise<CliResult>;
  /** Waits until `text` was written to stdout or stderr; fails if the command ended first. */
  until(stream: 'out' | 'err', text: string, timeoutMs?: number): Promise<void>;
  /** Ctrl-C, then its result. */
  interrupt(): Promise<CliResult>;
}

const cliEnv = (): NodeJS.ProcessEnv => ({
  DEADDROP_HOME: bobHome,
  DEADDROP_REQUEST_TIMEOUT: REQUEST_TIMEOUT,
});

/** `deaddrop <args>` in this process, as bob's home; Ctrl-C is `interrupt()`. */
function startCli(args: readonly string[]): RunningCli {
  const out: string[] = [];
  const err: string[] = [];
  const ctrlC = new AbortController();
  const io: CliIo = {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    readStdin: () => Promise.resolve(new Uint8Array()),
    env: cliEnv(),
    interrupted: () => ctrlC.signal,
  };
  const text = { out: () => out.map((line) => `${line}\n`).join(''), err: () => err.join('\n') };
  const started = Date.now();
  let ended = false;
  const finished = runCli(args, io).then((code) => {
    ended = true;
    return { code, out: text.out(), err, ms: Date.now() - started };
  });
  return {
    finished,
    async until(stream, wanted, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!text[stream]().includes(wanted)) {
        if (ended || Date.now() > deadline) {
          throw new Error(`no "${wanted}" on ${stream}; out: ${text.out()} err: ${text.err()}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    interrupt() {
      ctrlC.abort();
      return finished;
    },
  };
}

function cli(args: readonly string[]): Promise<CliResult> {
  return startCli(args).finished;
}

function bobState(): Promise<string> {
  return readFile(join(bobHome, 'agents', 'bob.state.json'), 'utf8').catch(() => '(none)');
}

function bobIdentityFile(): Promise<string> {
  return readFile(join(bobHome, 'agents', 'bob.json'), 'utf8');
}

function deliverToBob(body: string, sentAt?: number): StoredMessage {
  return relay.deliver('bob', sealedMessage(alice.identity, bob, body, sentAt).ciphertext);
}

/** Nothing the CLI did not mean to write: no stack frame, no failure it calls unexpected. */
function expectNoStack(run: CliResult): void {
  for (const line of run.err) {
    expect(line).not.toMatch(STACK_FRAME);
    expect(line).not.toContain('unexpected error');
  }
  expect(run.out).not.toMatch(STACK_FRAME);
}

function expectOneErrorLine(run: CliResult, text: RegExp): void {
  expect(run.code, run.err.join('\n')).toBe(1);
  expect(run.err).toHaveLength(1);
  expect(run.err[0]).toMatch(/^deaddrop: /);
  expect(run.err[0]).toMatch(text);
  expectNoStack(run);
}

/** Bodies `receive --json` printed as verified messages. */
function verifiedBodies(run: CliResult): unknown[] {
  return jsonLines(run.out)
    .filter((entry) => entry.verified === true)
    .map((entry) => entry.body);
}

/** The header line printed above a one-line body, in the human format. */
function headerAbove(out: string, body: string): string | undefined {
  const lines = out.split('\n');
  const at = lines.indexOf(`  ${body}`);
  return at > 0 ? lines[at - 1] : undefined;
}

function occurrences(text: string, part: string): number {
  return text.split(part).length - 1;
}

beforeAll(async () => {
  [relay, scratch] = await Promise.all([
    startHostileRelay({ limits: { maxWaitMs: 1_000 } }),
    mkdtemp(join(tmpdir(), 'deaddrop-cli-hostile-relay-')),
  ]);
  bobHome = join(scratch, 'bob');
  const agent = async (agentId: string) => {
    const identity = await createIdentity(agentId, {
      home: join(scratch, agentId),
      relayUrl: relay.url,
    });
    const client = new DeadDropClient({ identity });
    await client.register();
    return client;
  };
  [alice, mallory, carol] = await Promise.all([agent('alice'), agent('mallory'), agent('carol')]);
  const init = await cli(['init', 'bob', '--server', relay.url]);
  expect(init.code, init.err.join('\n')).toBe(0);
  bob = await loadIdentity('bob', { home: bobHome });
});

afterAll(async () => {
  await relay.close();
  await rm(scratch, { recursive: true, force: true });
});

afterEach(async () => {
  relay.behaveHonestly();
  relay.setLimits({ ttlSeconds: DEFAULT_LIMITS.ttlSeconds });
  // Every test leaves a mailbox an honest read gets through.
  const drained = await cli(['receive', 'bob', '--json']);
  expect(drained.code, drained.err.join('\n')).toBe(0);
});

describe('deaddrop receive and listen against mail served again', () => {
  it('prints a copy of a received message under a new id as a skipped replay, never as verified', async () => {
    const sealed = sealedMessage(alice.identity, bob, 'pay 10 once');
    relay.deliver('bob', sealed.ciphertext);
    const first = await cli(['receive', 'bob']);
    expect(first.code).toBe(0);
    expect(headerAbove(first.out, 'pay 10 once')).toMatch(/^from alice ✓ verified /);

    // An honest-looking answer: a new, higher id around the same envelope.
    const copy = relay.deliver('bob', sealed.ciphertext);
    const human = await cli(['receive', 'bob']);
    expect(human).toMatchObject({
      code: 0,
      out: '',
      err: [`warning: message ${copy.id} skipped: replayed (a copy of a message already received)`],
    });

    const again = relay.deliver('bob', sealed.ciphertext);
    const json = await cli(['receive', 'bob', '--json']);
    expect(json.code).toBe(0);
    expect(jsonLines(json.out)).toEqual([
      { id: again.id, receivedAt: again.receivedAt, error: 'replayed' },
    ]);
    expectNoStack(json);
  });

  it('refuses poll answers that go back before its cursor or repeat a message, state untouched', async () => {
    const one = deliverToBob('one');
    expect(verifiedBodies(await cli(['receive', 'bob', '--json', '--keep']))).toEqual(['one']);
    const two = deliverToBob('two');
    const before = await bobState();
    const answers = [
      // The received message again, under its own id, before the new one.
      [{ messages: [one, two], cursor: two.id }, 'not after the cursor'],
      [{ messages: [one], cursor: one.id }, 'not after the cursor'],
      // The cursor back to the start.
      [{ messages: [], cursor: '0-0' }, 'moves the cursor to 0-0'],
      // The same message twice in one answer.
      [{ messages: [two, two], cursor: two.id }, 'out of order or repeated'],
    ] as const;
    for (const [data, problem] of answers) {
      relay.misbehave('poll', () => ({ data }));
      const run = await cli(['receive', 'bob']);
      expectOneErrorLine(run, /^deaddrop: the relay at \S+ misbehaved: its poll answer /);
      expect(run.err[0]).toContain(problem);
      expect(run.out, JSON.stringify(data)).toBe('');
      expect(run.ms).toBeLessThan(REQUEST_TIMEOUT_MS + SLACK_MS);
      expect(await bobState()).toBe(before);
    }

    relay.behaveHonestly();
    const honest = await cli(['receive', 'bob', '--json']);
    expect(verifiedBodies(honest)).toEqual(['two']);
    expect(jsonLines(honest.out)).toHaveLength(1);
  });

  it('listen skips what the live inbox serves again: old ids silently, a copy under a new id as a replay', async () => {
    const one = deliverToBob('one');
    expect(verifiedBodies(await cli(['receive', 'bob', '--json']))).toEqual(['one']);
    const two = deliverToBob('two');
    const copy = relay.deliver('bob', one.ciphertext);
    relay.misbehave('inbox', () => ({
      events: [
        { message: one },
        { message: two },
        { message: two },
        { message: one },
        { message: copy },
      ],
      then: 'hang',
    }));
    const listening = startCli(['listen', 'bob']);
    await listening.until('err', `message ${copy.id} skipped: replayed`);
    const run = await listening.interrupt();

    expect(run.code).toBe(0);
    expect(occurrences(run.out, '\n  two\n')).toBe(1);
    expect(headerAbove(run.out, 'two')).toMatch(/^from alice ✓ verified /);
    expect(run.out).not.toContain('  one\n');
    expect(run.err.filter((line) => line.startsWith('warning: message'))).toEqual([
      `warning: message ${copy.id} skipped: replayed (a copy of a message already received)`,
    ]);
    expectNoStack(run);
    expect(await cli(['receive', 'bob'])).toMatchObject({ code: 0, out: '' });
  });
});

describe('deaddrop receive against a reordered poll answer', () => {
  it('fails in one line with its state file as it was, and reads the mail once the relay is honest', async () => {
    const two = deliverToBob('two');
    const three = deliverToBob('three');
    const before = await bobState();
    const answers = [
      [{ messages: [three, two], cursor: two.id }, 'out of order or repeated'],
      [{ messages: [three, two], cursor: three.id }, 'out of order or repeated'],
      // In order, but the cursor is not the last message's id.
      [{ messages: [two], cursor: three.id }, `moves the cursor to ${three.id}`],
    ] as const;
    for (const [data, problem] of answers) {
      relay.misbehave('poll', () => ({ data }));
      for (const args of [
        ['receive', 'bob'],
        ['receive', 'bob', '--json'],
      ]) {
        const run = await cli(args);
        expectOneErrorLine(run, /^deaddrop: the relay at \S+ misbehaved: its poll answer /);
        expect(run.err[0]).toContain(problem);
        expect(run.out).toBe('');
        expect(await bobState()).toBe(before);
      }
    }

    relay.behaveHonestly();
    const honest = await cli(['receive', 'bob', '--json']);
    expect(honest.code).toBe(0);
    expect(verifiedBodies(honest)).toEqual(['two', 'three']);
    expect(await cli(['receive', 'bob'])).toMatchObject({ code: 0, err: ['no new messages'] });
  });
});

describe('deaddrop receive against changing TTL claims', () => {
  it('does not print an old message as verified when the relay claims 1 s, then ten years, and serves it again', async () => {
    // Fresh under the honest one-day TTL: received and verified.
    const sealed = sealedMessage(alice.identity, bob, 'pay 10 once', Date.now() - 30 * MIN);
    relay.deliver('bob', sealed.ciphertext);
    expect(verifiedBodies(await cli(['receive', 'bob', '--json']))).toEqual(['pay 10 once']);
    const remembered = JSON.parse(await bobState()) as { seen: Record<string, number> };
    expect(Object.keys(remembered.seen)).toContain(sealed.uid);

    // The relay claims 1 s: the next save forgets the id, sent longer ago than 1 s + 10 min.
    relay.setLimits({ ttlSeconds: 1 });
    relay.deliver('bob', sealedMessage(alice.identity, bob, 'later').ciphertext, {
      expiresAt: Date.now() + MIN,
    });
    expect(verifiedBodies(await cli(['receive', 'bob', '--json']))).toEqual(['later']);
    const forgot = JSON.parse(await bobState()) as { seen: Record<string, number> };
    expect(Object.keys(forgot.seen)).not.toContain(sealed.uid);

    // Then ten years, and the old envelope again under a new id.
    relay.setLimits({ ttlSeconds: TEN_YEARS_S });
    relay.deliver('bob', sealed.ciphertext);
    const replay = await cli(['receive', 'bob']);
    expect(replay.code).toBe(0);
    expect(replay.out).not.toContain('✓ verified');
    expect(headerAbove(replay.out, 'pay 10 once')).toMatch(
      /^from alice ✗ NOT VERIFIED \(stale: sent too long ago or in the future \(clock or replay\)\)/,
    );
    expectNoStack(replay);

    // Served once more, it is a replay of the copy just seen.
    const again = relay.deliver('bob', sealed.ciphertext);
    const json = await cli(['receive', 'bob', '--json']);
    expect(jsonLines(json.out)).toEqual([
      { id: again.id, receivedAt: again.receivedAt, error: 'replayed' },
    ]);
  });
});

describe('deaddrop against a directory that lies about keys', () => {
  it('send refuses a swapped key with the key-changed message; the impostor’s mail is not verified', async () => {
    const pinned = await cli(['send', 'bob', 'alice', 'pins alice']);
    expect(pinned.code, pinned.err.join('\n')).toBe(0);
    // Pinned from the directory: now, or when bob first read alice's mail.
    expect(pinned.out).toMatch(
      /^alice: key fingerprint \S+ \((pinned now|matches your pin) from the relay directory/,
    );
    const identityBefore = await bobIdentityFile();
    const aliceMail = relay.mailbox('alice').length;

    relay.registerAgent('alice', mallory.agentKey);
    try {
      const refused = await cli(['send', 'bob', 'alice', 'to the impostor']);
      expectOneErrorLine(
        refused,
        /the relay directory's key for "alice" \(fingerprint \S+\) differs from your pin .*--key/,
      );
      expect(refused.err[0]).toContain(mallory.identity.fingerprint);
      expect(refused.out).toBe('');
      expect(relay.mailbox('alice')).toHaveLength(aliceMail);
      expect(await bobIdentityFile()).toBe(identityBefore);

      // Mallory signs as alice with her own key; alice writes too.
      const forged = sealedMessage({ ...mallory.identity, agentId: 'alice' }, bob, 'I am alice');
      relay.deliver('bob', forged.ciphertext);
      deliverToBob('really alice');
      const run = await cli(['receive', 'bob']);
      expect(run.code).toBe(0);
      expect(headerAbove(run.out, 'I am alice')).toMatch(
        /^from alice ✗ NOT VERIFIED \(key-mismatch: signed by a key that is not the one pinned for this sender\)/,
      );
      expect(headerAbove(run.out, 'really alice')).toMatch(/^from alice ✓ verified /);
      expectNoStack(run);
    } finally {
      relay.registerAgent('alice', alice.agentKey);
    }
    expect(await cli(['send', 'bob', 'alice', 'still you'])).toMatchObject({ code: 0 });
  });

  it('refuses a directory answer for another agent: send fails in one line, receive does not verify', async () => {
    const identityBefore = await bobIdentityFile();
    relay.misbehave('directory.lookup', () => ({
      data: { agentId: 'mallory', agentKey: mallory.agentKey, registeredAt: 1 },
    }));
    const refused = await cli(['send', 'bob', 'carol', 'hello carol']);
    expectOneErrorLine(
      refused,
      /^deaddrop: the relay at \S+ misbehaved: its directory answered for "mallory", not "carol"$/,
    );
    expect(relay.mailbox('carol')).toHaveLength(0);

    // First contact from carol while the directory misdirects: no pin, not verified.
    await carol.sendMessage({ to: 'bob', message: 'first contact', recipientKey: bob.agentKey });
    const run = await cli(['receive', 'bob']);
    expect(run.code).toBe(0);
    expect(headerAbove(run.out, 'first contact')).toMatch(
      /^from carol ✗ NOT VERIFIED \(lookup-failed: .*\) · key \S+ \(no pin\)/,
    );
    expect(await bobIdentityFile()).toBe(identityBefore);

    relay.behaveHonestly();
    await carol.sendMessage({ to: 'bob', message: 'second contact' });
    const honest = await cli(['receive', 'bob']);
    expect(headerAbove(honest.out, 'second contact')).toMatch(/^from carol ✓ verified /);
  });
});

describe('deaddrop listen against hostile live events', () => {
  it('ends with one error line on an event past the size bound, then listens again from where it was', async () => {
    const first = deliverToBob('before the flood');
    relay.misbehave('inbox', () => ({
      events: [
        { message: first },
        { raw: 'data: {"json":"' },
        { repeat: 'x'.repeat(65_536), times: 40 },
      ],
      then: 'hang',
    }));
    const flooded = await cli(['listen', 'bob']);
    expect(flooded.code).toBe(1);
    expect(flooded.ms).toBeLessThan(10_000);
    expect(flooded.out).toContain('\n  before the flood\n');
    expect(flooded.err.at(-1)).toMatch(
      /^deaddrop: the relay misbehaved: its live inbox sent an event of more than \d+ characters$/,
    );
    expect(flooded.err.filter((line) => line.startsWith('deaddrop: '))).toHaveLength(1);
    expectNoStack(flooded);
    const state = JSON.parse(await bobState()) as { cursors: Record<string, string> };
    expect(state.cursors[relay.relayId]).toBe(first.id);

    relay.behaveHonestly();
    deliverToBob('after the flood');
    const listening = startCli(['listen', 'bob']);
    await listening.until('out', 'after the flood');
    const honest = await listening.interrupt();
    expect(honest.code).toBe(0);
    expect(honest.out).not.toContain('before the flood');
    expect(headerAbove(honest.out, 'after the flood')).toMatch(/^from alice ✓ verified /);
  });

  it('rides out malformed events and hostile reconnect advice, saying so, then prints honest mail', async () => {
    deliverToBob('after the garbage');
    const before = relay.callsTo('inbox').length;
    relay.misbehave('inbox', (request) =>
      request.count - before < 3
        ? {
            preamble: false,
            events: [
              { raw: 'retry: 0\nevent: connected\ndata: {"reconnectAfterInactivityMs":1}\n\n' },
              { raw: 'id: 1-1\ndata: {not json\n\n' },
              { raw: 'data: \u0000\u001b[2J\n\n' },
            ],
            then: 'end',
          }
        : { honest: true },
    );
    const listening = startCli(['listen', 'bob']);
    await listening.until('out', 'after the garbage', 15_000);
    const run = await listening.interrupt();
    expect(run.code).toBe(0);
    expect(headerAbove(run.out, 'after the garbage')).toMatch(/^from alice ✓ verified /);
    expect(occurrences(run.out, 'after the garbage')).toBe(1);
    expect(run.err.some((line) => line.startsWith('connection lost ('))).toBe(true);
    expect(run.err.filter((line) => line.startsWith('deaddrop: '))).toEqual([]);
    expectNoStack(run);
    // Refused streams with growing delays between them, not a tight loop.
    expect(relay.callsTo('inbox').length - before).toBeLessThan(10);
  });

  it('ends with one error line on a malformed message, having printed and saved what came before', async () => {
    const first = deliverToBob('first');
    relay.misbehave('inbox', () => ({
      events: [
        { message: first },
        { message: { id: '99-1', ciphertext: 12345, receivedAt: 99, expiresAt: 100 } },
      ],
      then: 'hang',
    }));
    const run = await cli(['listen', 'bob']);
    expect(run.code).toBe(1);
    expect(run.ms).toBeLessThan(10_000);
    expect(headerAbove(run.out, 'first')).toMatch(/^from alice ✓ verified /);
    expect(run.err.at(-1)).toBe(
      'deaddrop: the relay misbehaved: its live inbox sent a malformed message',
    );
    expectNoStack(run);

    relay.behaveHonestly();
    const after = await cli(['receive', 'bob']);
    expect(after).toMatchObject({ code: 0, out: '', err: ['no new messages'] });
  });
});

describe('deaddrop against answers that never end', () => {
  it('receive and listen give up within the request timeout when info or a poll never answers', async () => {
    const waiting = deliverToBob('after the silence');
    const before = await bobState();
    const cases = [
      { args: ['receive', 'bob'], path: 'info', answer: { hang: true }, waitMs: 0 },
      {
        args: ['receive', 'bob', '--json'],
        path: 'info',
        answer: { trickle: { intervalMs: 50 } },
        waitMs: 0,
      },
      { args: ['listen', 'bob'], path: 'info', answer: { trickle: { intervalMs: 50 } }, waitMs: 0 },
      // A long-poll: its wait comes on top of the timeout.
      {
        args: ['receive', 'bob', '--wait', '1'],
        path: 'poll',
        answer: { hang: true },
        waitMs: 1_000,
      },
    ] as const;
    for (const { args, path, answer, waitMs } of cases) {
      relay.misbehave(path, () => answer);
      const run = await cli(args);
      expectOneErrorLine(run, /no answer from the relay at \S+ within \d+ ms/);
      expect(run.ms, args.join(' ')).toBeLessThan(waitMs + REQUEST_TIMEOUT_MS + SLACK_MS);
      expect(await bobState()).toBe(before);
      relay.behaveHonestly();
    }
    const honest = await cli(['receive', 'bob', '--json']);
    expect(jsonLines(honest.out)).toMatchObject([
      { id: waiting.id, body: 'after the silence', verified: true },
    ]);
  });

  it.each([
    [
      'receive, its poll trickling forever',
      ['receive', 'bob'],
      'poll',
      { trickle: { intervalMs: 100 } },
    ],
    ['listen, its info never answered', ['listen', 'bob'], 'info', { hang: true }],
  ] as const)(
    'a process running %s exits within the request timeout with one line',
    async (_, args, path, answer) => {
      const before = await bobState();
      relay.misbehave(path, () => answer);
      const started = Date.now();
      const run = await runCliProcess(args, {
        DEADDROP_HOME: bobHome,
        DEADDROP_REQUEST_TIMEOUT: REQUEST_TIMEOUT,
      });
      const ms = Date.now() - started;
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toMatch(/^deaddrop: no answer from the relay at \S+ within \d+ ms.*\n$/);
      expect(run.stderr).not.toMatch(STACK_FRAME);
      expect(run.stdout).toBe('');
      expect(ms).toBeLessThan(REQUEST_TIMEOUT_MS + PROCESS_SLACK_MS);
      expect(await bobState()).toBe(before);
    },
  );
});
