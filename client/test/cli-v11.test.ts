// End to end, on both stores: the CLI's messaging v1.1 (PROTOCOL §6–§8) as child processes — files
// sent with `send --file` and saved by `receive --save-dir` byte for byte, under safe names, never
// overwriting; `--json` bodies; stdin that is not UTF-8 refused; one body only; group sends with a
// result per recipient; `reply` and `reply --all`; delivery receipts shown by `listen`, `receive`
// and `receipts`, and none sent with `--no-receipts`.
// @module-tag slow (runs the CLI as processes): npm test only, not npm run test:fast
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, toB64u } from '@deaddrop/contract';
import { RATE_LIMITS_OFF, spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { DeadDropClient } from '../src/client.js';
import { isUnreadable, type ReceivedMessage } from '../src/inbox-entry.js';
import { createIdentity } from '../src/keystore.js';
import { jsonLines, runCliProcess, type CliRun } from './cli-process.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const run = toB64u(randomBytes(6))
  .toLowerCase()
  .replace(/[^a-z0-9]/g, 'x');

/** Each test runs the CLI as several processes, some seconds each on a busy machine. */
const CLI_TEST_TIMEOUT_MS = 120_000;

const stores: { store: string; env: Record<string, string> }[] = [
  { store: 'embedded', env: {} },
  { store: 'redis', env: { REDIS_URL } },
];

describe.each(stores)('the CLI, messaging v1.1 ($store store)', ({ store, env }) => {
  let relay: SpawnedRelay;
  let scratch: string;
  const clients: DeadDropClient[] = [];

  /** A registered agent: its id, and an SDK client on its home for checks. */
  async function agent(name: string): Promise<{ id: string; sdk: DeadDropClient }> {
    const id = `${name}-c${store.slice(0, 1)}-${run}`;
    const identity = await createIdentity(id, { home: join(scratch, id), relayUrl: relay.url });
    const sdk = new DeadDropClient({ identity });
    await sdk.register();
    clients.push(sdk);
    return { id, sdk };
  }

  function cli(
    as: string,
    args: readonly string[],
    stdin?: string | Uint8Array,
    extraEnv: Record<string, string> = {},
  ): Promise<CliRun> {
    return runCliProcess(args, { DEADDROP_HOME: join(scratch, as), ...extraEnv }, stdin);
  }

  async function folder(name: string): Promise<string> {
    const dir = join(scratch, `${name}-${Math.random().toString(36).slice(2)}`);
    await mkdir(dir);
    return dir;
  }

  /** The messages `agent` can read now, through the SDK (receipts become events, not entries). */
  async function messagesOf(client: DeadDropClient): Promise<ReceivedMessage[]> {
    const entries = await client.pollAndDecrypt({ limit: 100 });
    return entries.filter((entry): entry is ReceivedMessage => !isUnreadable(entry));
  }

  beforeAll(async () => {
    [relay, scratch] = await Promise.all([
      spawnRelay({ ...RATE_LIMITS_OFF, ...env }),
      mkdtemp(join(tmpdir(), `deaddrop-cli-v11-${store}-`)),
    ]);
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await relay.stop();
    await rm(scratch, { recursive: true, force: true });
  }, CLI_TEST_TIMEOUT_MS);

  it(
    'sends files byte for byte (1 byte, 500 KiB) and saves them without overwriting',
    async () => {
      const [alice, bob] = await Promise.all([agent('alice'), agent('bob')]);
      const files = await folder('out');
      const one = Uint8Array.of(0xff);
      const big = randomBytes(500 * 1024);
      await writeFile(join(files, 'one.bin'), one);
      await writeFile(join(files, 'photo.png'), big);
      for (const name of ['one.bin', 'photo.png', 'photo.png']) {
        const sent = await cli(alice.id, ['send', alice.id, bob.id, '--file', join(files, name)]);
        expect(sent.stderr).toBe('');
        expect(sent.code).toBe(0);
        expect(sent.stdout).toMatch(new RegExp(`sent \\S+ to ${bob.id}`));
      }

      const saveDir = await folder('in');
      const received = await cli(bob.id, ['receive', bob.id, '--json', '--save-dir', saveDir]);
      expect(received.code).toBe(0);
      const lines = jsonLines(received.stdout);
      expect(lines.map((line) => line.contentType)).toEqual([
        'application/octet-stream',
        'image/png',
        'image/png',
      ]);
      // The saved path instead of the base64 body.
      for (const line of lines) {
        expect(line).not.toHaveProperty('body');
        expect(line).not.toHaveProperty('data');
      }
      expect(lines.map((line) => line.savedPath)).toEqual([
        join(saveDir, 'one.bin'),
        join(saveDir, 'photo.png'),
        join(saveDir, 'photo (1).png'),
      ]);
      expect(new Uint8Array(await readFile(join(saveDir, 'one.bin')))).toEqual(one);
      expect(new Uint8Array(await readFile(join(saveDir, 'photo.png')))).toEqual(big);
      expect(new Uint8Array(await readFile(join(saveDir, 'photo (1).png')))).toEqual(big);
      expect((await stat(join(saveDir, 'photo.png'))).mode & 0o777).toBe(0o600);

      // A file already there is never replaced: the next copy is numbered.
      await cli(alice.id, ['send', alice.id, bob.id, '--file', join(files, 'one.bin')]);
      const again = await cli(bob.id, ['receive', bob.id, '--save-dir', saveDir]);
      expect(again.stdout).toContain(`file "one.bin" (application/octet-stream)`);
      expect(again.stdout).toContain(`saved to ${join(saveDir, 'one (1).bin')} (1 B)`);
      expect(new Uint8Array(await readFile(join(saveDir, 'one.bin')))).toEqual(one);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'saves hostile file names inside the folder, under a safe name',
    async () => {
      const [alice, bob] = await Promise.all([agent('alice-h'), agent('bob-h')]);
      const names = ['\u001b[31m.evil\u0007', '.bashrc', '...', 'a\u202enaughty'];
      const sent: string[] = [];
      for (const filename of names) {
        const message = await alice.sdk.sendMessage({
          to: bob.id,
          bytes: Uint8Array.of(1, 2, 3),
          contentType: 'application/octet-stream',
          filename,
        });
        sent.push(message.uid);
      }
      const saveDir = await folder('hostile');
      const received = await cli(bob.id, ['receive', bob.id, '--json', '--save-dir', saveDir]);
      expect(received.code).toBe(0);
      const saved = jsonLines(received.stdout).map((line) => line.savedPath);
      expect(saved).toEqual([
        join(saveDir, '[31m.evil'),
        join(saveDir, 'bashrc'),
        join(saveDir, `message-${sent[2] ?? ''}`),
        join(saveDir, 'anaughty'),
      ]);
      expect((await readdir(saveDir)).sort()).toHaveLength(4);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'refuses a file larger than fits, before reading it, in plaintext terms',
    async () => {
      const [alice, bob] = await Promise.all([agent('alice-l'), agent('bob-l')]);
      const files = await folder('large');
      const path = join(files, 'huge.bin');
      await writeFile(path, '');
      await truncate(path, 10 * 1024 * 1024);
      const limits = await alice.sdk.limits(bob.id);
      const sent = await cli(alice.id, ['send', alice.id, bob.id, '--file', path]);
      expect(sent.code).toBe(1);
      expect(sent.stderr).toContain(
        `at most ${limits.fileBytes} bytes of file data fit in one message on this relay`,
      );
      const stats = await cli(alice.id, ['stats', alice.id]);
      expect(stats.stdout).toContain(
        `fits: ${(await alice.sdk.limits()).fileBytes} bytes of file data`,
      );
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'sends --json values, refuses bad JSON, two bodies, and stdin that is not UTF-8',
    async () => {
      const [alice, bob] = await Promise.all([agent('alice-j'), agent('bob-j')]);
      const value = { task: 'build', steps: [1, 2, { ok: true }], note: null };
      const sent = await cli(alice.id, ['send', alice.id, bob.id, '--json', JSON.stringify(value)]);
      expect(sent.code).toBe(0);
      const [message] = await messagesOf(bob.sdk);
      expect(message?.body).toEqual(value);

      const invalid = await cli(alice.id, ['send', alice.id, bob.id, '--json', '{"a":']);
      expect(invalid.code).toBe(2);
      expect(invalid.stderr).toMatch(/--json is not valid JSON \(.+\); nothing sent/);
      const deep = await cli(alice.id, [
        'send',
        alice.id,
        bob.id,
        '--json',
        `${'['.repeat(65)}${']'.repeat(65)}`,
      ]);
      expect(deep.stderr).toContain('nests deeper than 64');

      const two = await cli(alice.id, ['send', alice.id, bob.id, 'text', '--file', '/dev/null']);
      expect(two.code).toBe(2);
      expect(two.stderr).toContain('give exactly one body, not 2');

      const latin1 = Uint8Array.of(0x63, 0x61, 0x66, 0xe9, 0x0a); // "café" in Latin-1
      const refused = await cli(alice.id, ['send', alice.id, bob.id, '-'], latin1);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('stdin is not valid UTF-8 text; nothing sent');
      expect(refused.stderr).toContain('--file -');
      // The same bytes as a file from stdin arrive as they are.
      const asFile = await cli(alice.id, ['send', alice.id, bob.id, '--file', '-'], latin1);
      expect(asFile.code).toBe(0);
      const [file] = await messagesOf(bob.sdk);
      expect(file?.contentType).toBe('application/octet-stream');
      expect(file?.data).toEqual(latin1);
      expect(await messagesOf(bob.sdk)).toEqual([]);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'sends to a comma list: a line per recipient, exit 1 when one failed',
    async () => {
      const [alice, bob, carol] = await Promise.all([
        agent('alice-g'),
        agent('bob-g'),
        agent('carol-g'),
      ]);
      const nobody = `nobody-c${store.slice(0, 1)}-${run}`;
      const sent = await cli(alice.id, [
        'send',
        alice.id,
        `${bob.id},${nobody},${carol.id}`,
        'to all',
      ]);
      expect(sent.code).toBe(1);
      expect(sent.stdout).toMatch(new RegExp(`sent \\S+ to ${bob.id}`));
      expect(sent.stdout).toMatch(new RegExp(`sent \\S+ to ${carol.id}`));
      expect(sent.stdout).toContain(`not sent to ${nobody}:`);
      expect(sent.stderr).toContain(`not sent to ${nobody} (1 of 3); sent to the other 2`);
      for (const client of [bob.sdk, carol.sdk]) {
        const [message] = await messagesOf(client);
        expect(message?.body).toBe('to all');
        expect(message?.group?.members).toEqual([alice.id, bob.id, nobody, carol.id]);
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'replies in the thread, and --all to the whole group',
    async () => {
      const [alice, bob, carol] = await Promise.all([
        agent('alice-r'),
        agent('bob-r'),
        agent('carol-r'),
      ]);
      const group = await alice.sdk.sendMessage({ to: [bob.id, carol.id], message: 'plan?' });
      const original = group.results[0];
      if (original?.ok !== true) throw new Error('group send failed');
      await messagesOf(carol.sdk); // carol's copy of the first message, out of the way
      const received = await cli(bob.id, ['receive', bob.id]);
      expect(received.stdout).toContain(
        `group ${group.groupId} (${alice.id}, ${bob.id}, ${carol.id})`,
      );

      // By the relay id receive printed, after the mailbox copy is deleted.
      const reply = await cli(bob.id, ['reply', bob.id, original.sent.id, 'mine']);
      expect(reply.code).toBe(0);
      const [answer] = await messagesOf(alice.sdk);
      expect(answer?.body).toBe('mine');
      expect(answer?.replyTo).toBe(original.sent.uid);
      expect(answer?.threadId).toBe(original.sent.uid);

      // After "--": a uid is random base64url, so one in 64 starts with "-".
      const all = await cli(bob.id, [
        'reply',
        bob.id,
        '--all',
        '--json',
        '{"ok":1}',
        '--',
        original.sent.uid,
      ]);
      expect(all.stderr).toBe('');
      expect(all.code).toBe(0);
      for (const client of [alice.sdk, carol.sdk]) {
        const [message] = (await messagesOf(client)).filter((m) => m.from === bob.id);
        expect(message?.body).toEqual({ ok: 1 });
        expect(message?.group?.id).toBe(group.groupId);
        expect(message?.replyTo).toBe(original.sent.uid);
      }

      const unknown = await cli(bob.id, ['reply', bob.id, '1-0', 'x']);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain(
        'reply works for the last 256 messages received by this agent',
      );
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'shows delivery receipts in listen and receipts, and sends none with --no-receipts',
    async () => {
      const [alice, bob, carol] = await Promise.all([
        agent('alice-d'),
        agent('bob-d'),
        agent('carol-d'),
      ]);
      const sent = await cli(alice.id, ['send', alice.id, bob.id, 'ack me', '--receipt']);
      expect(sent.code).toBe(0);
      const toCarol = await cli(alice.id, ['send', alice.id, carol.id, 'quiet', '--receipt']);
      expect(toCarol.code).toBe(0);
      const uidOf = async (to: string) =>
        (await alice.sdk.deliveries()).find((record) => record.to === to)?.uid ?? '';
      const bobUid = await uidOf(bob.id);
      const carolUid = await uidOf(carol.id);

      const bobReads = await cli(bob.id, ['receive', bob.id]);
      expect(bobReads.stdout).toContain('receipt requested');
      const carolReads = await cli(carol.id, ['receive', carol.id, '--no-receipts']);
      expect(carolReads.stdout).toContain('quiet');

      const waiting = await cli(alice.id, ['receipts', alice.id]);
      expect(waiting.stdout).toContain(`${bobUid} to ${bob.id}`);
      expect(waiting.stdout).not.toContain('delivered ✓');

      const listening = listen(alice.id, scratch);
      await listening.until(`delivered ✓ ${bobUid} to ${bob.id}`);
      listening.interrupt();
      const ended = await listening.exited;
      expect(ended.code).toBe(0);
      expect(ended.stdout).not.toContain(carolUid);
      // The receipt was deleted from the relay once printed.
      expect((await alice.sdk.stats()).count).toBe(0);

      const states = await cli(alice.id, ['receipts', alice.id]);
      expect(states.stdout).toMatch(new RegExp(`${bobUid} to ${bob.id} .*delivered ✓ at `));
      expect(states.stdout).toMatch(new RegExp(`${carolUid} to ${carol.id} .*waiting`));

      // receive prints receipts too; DEADDROP_RECEIPTS=off sends none.
      await cli(alice.id, ['send', alice.id, carol.id, 'again', '--receipt']);
      const off = await cli(carol.id, ['receive', carol.id], undefined, {
        DEADDROP_RECEIPTS: 'off',
      });
      expect(off.stdout).toContain('again');
      await cli(alice.id, ['send', alice.id, bob.id, 'twice', '--receipt']);
      await cli(bob.id, ['receive', bob.id]);
      const read = await cli(alice.id, ['receive', alice.id]);
      const twiceUid = await uidOf(bob.id);
      expect(read.stdout.trim().split('\n')).toEqual([`delivered ✓ ${twiceUid} to ${bob.id}`]);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

/** `deaddrop listen <agent>` running until interrupted; `until` waits for text on stdout. */
function listen(agent: string, scratch: string) {
  let child: ChildProcessWithoutNullStreams | undefined;
  let stdout = '';
  const exited = runCliProcess(
    ['listen', agent],
    { DEADDROP_HOME: join(scratch, agent) },
    undefined,
    (spawned) => {
      child = spawned;
      spawned.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    },
  );
  return {
    exited,
    async until(text: string, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!stdout.includes(text)) {
        if (Date.now() > deadline) throw new Error(`no "${text}" on stdout: ${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    interrupt() {
      child?.kill('SIGINT');
    },
  };
}
