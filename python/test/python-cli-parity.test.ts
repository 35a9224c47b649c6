// `python3 -m deaddrop` prints what `deaddrop` (the TypeScript CLI) prints: the same usage errors and
// exit codes for the same mistakes, and — reading the same mail with copies of one identity — the
// same `receive` lines, human and `--json`, byte for byte (saved files' folders aside); the same
// lines for a group send, a `reply` (and `reply --all`) and `receipts` (ids aside where they differ).
// @module-tag slow (runs both CLIs as processes): npm test only, not npm run test:fast
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentKey, randomBytes, sealInnerBytes, toB64u, utf8 } from '@deaddrop/contract';
import { DeadDropClient, createIdentity } from '@deaddrop/client';
import { RATE_LIMITS_OFF, spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { runCliProcess } from '../../client/test/cli-process.js';
import { NO_PYTHON, findPython, runPythonCli } from './python-process.js';

const TEST_TIMEOUT_MS = 180_000;

/** Command lines both CLIs refuse (or answer) without a relay, identically. */
const USAGE_CASES: readonly (readonly string[])[] = [
  ['recieve', 'x'],
  ['send', 'a', 'b'],
  ['send', 'a', 'b', 'x', '--json', '1'],
  ['send', 'a', 'b', '--json'],
  ['send', 'a', 'b', '--json', '--receipt'],
  ['send', 'a', 'b', '--type', 'text/plain', 'x'],
  ['send', 'a', 'b', '--file', ''],
  ['send', 'a', 'b', '--file', 'x', '--type', 'bad'],
  ['send', 'a', 'b', ''],
  ['send', 'a', 'b', '-5'],
  ['send', 'a', 'b', '--key', '--strict', 'x'],
  ['send', 'a', 'b', '--json', `${'['.repeat(65)}${']'.repeat(65)}`],
  ['receive', 'a', '--wait', '-5'],
  ['receive', 'a', '--wait', 'abc'],
  ['receive', 'a', '--wait=-1'],
  ['receive', 'a', '--bogus'],
  ['receive', 'a', '--jsn'],
  ['receive', 'a', '-x'],
  ['receive', 'a', '--json=1'],
  ['receive', 'a', '--key', 'k'],
  ['receive', 'a', '--save-dir', '/nonexistent/folder'],
  ['receive', 'nobody'],
  ['--json'],
  ['-v'],
  ['--version'],
  ['whoami', 'extra'],
  ['whoami', '--json'],
  ['init', 'Bad', '--server', 'http://127.0.0.1:1'],
  ['init', 'ok.state', '--server', 'http://127.0.0.1:1'],
  ['init', 'ok', '--server', 'ftp://x'],
  ['proof', 'a', 'stat'],
  ['proof', 'a', 'stats,pol'],
  ['proof', 'a', 'stats', '--relay-id', 'bad id'],
  ['proof', 'a', 'stats', '--relay-id', 'relay-x'],
  ['send', 'a', 'b,c', 'x', '--key', 'k'],
  ['reply', 'a'],
  ['reply', 'a', '1-0'],
  ['reply', 'a', '1-0', 'x', '--keep'],
  ['receipts', 'a', '--all'],
  ['receipts', 'nobody'],
];

/** Run-to-run values (message ids, a new group's id) as placeholders; everything else compared. */
function normalized(run: { code: number | null; stdout: string; stderr: string }) {
  const mask = (text: string) =>
    text
      .replace(/\b\d{10,16}-\d+\b/g, '<id>')
      .replace(/^group [A-Za-z0-9_-]{22}:/gm, 'group <gid>:');
  return { code: run.code, stdout: mask(run.stdout), stderr: mask(run.stderr) };
}

describe('the Python CLI and the TypeScript CLI', () => {
  const python = findPython();
  if (python === null) {
    it.skip(NO_PYTHON, () => undefined);
    return;
  }
  let relay: SpawnedRelay;
  let scratch: string;
  const clients: DeadDropClient[] = [];

  beforeAll(async () => {
    [relay, scratch] = await Promise.all([
      spawnRelay({ ...RATE_LIMITS_OFF }),
      mkdtemp(join(tmpdir(), 'deaddrop-python-parity-')),
    ]);
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    for (const client of clients) client.close();
    await relay.stop();
    await rm(scratch, { recursive: true, force: true });
  }, TEST_TIMEOUT_MS);

  it(
    'refuse the same mistakes with the same line and exit code',
    async () => {
      const home = join(scratch, 'usage');
      // A few at a time: each case starts two processes.
      for (let start = 0; start < USAGE_CASES.length; start += 4) {
        await Promise.all(
          USAGE_CASES.slice(start, start + 4).map(async (args) => {
            const [ts, py] = await Promise.all([
              runCliProcess(args, { DEADDROP_HOME: home }),
              runPythonCli(home, args),
            ]);
            expect({ args, code: py.code, stdout: py.stdout, stderr: py.stderr }).toEqual({
              args,
              code: ts.code,
              stdout: ts.stdout,
              stderr: ts.stderr,
            });
          }),
        );
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'print the same lines for the same mail, human and --json',
    async () => {
      const senderId = 'parity-sender';
      const identity = await createIdentity(senderId, {
        home: join(scratch, senderId),
        relayUrl: relay.url,
      });
      const sender = new DeadDropClient({ identity });
      clients.push(sender);
      await sender.register();
      const twin = 'parity-twin';
      const homes = ['py', 'ts', 'py-json', 'ts-json'].map((name) => join(scratch, name));
      const [first = '', ...others] = homes;
      const made = await runPythonCli(first, ['init', twin, '--server', relay.url]);
      expect(made.code, made.stderr).toBe(0);
      // Copies of one identity, each with its own state: each reads all the mail once.
      for (const other of others) await cp(first, other, { recursive: true });

      const text = await sender.sendMessage({
        to: twin,
        message: 'two lines\nand a \u001b[31mcontrol\u001b[0m and \u202ebidi',
        receipt: true,
      });
      await sender.sendMessage({
        to: twin,
        message: { list: [1, 2.5, null], nested: { ok: true } },
      });
      await sender.sendMessage({
        to: twin,
        bytes: Uint8Array.of(1, 2, 3),
        contentType: 'application/pdf',
        filename: '..evil\u0007.pdf',
      });
      await sender.reply({ uid: text.uid, from: twin }, 'answering');
      const key = parseAgentKey((await sender.lookup(twin)).agentKey);
      if (key === null) throw new Error('no key');
      const deep = `{"v":1,"id":"${toB64u(randomBytes(16))}","kind":"message","from":"${senderId}","fromKey":"${sender.agentKey}","to":"${twin}","sentAt":${Date.now()},"body":${'['.repeat(100)}${']'.repeat(100)}}`;
      const { ciphertext } = sealInnerBytes(utf8(deep), {
        sender: sender.identity.keys,
        recipient: key,
      });
      const dropped = await fetch(`${relay.url}/v1/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to: twin, ciphertext }),
      });
      expect(dropped.status).toBe(200);

      const read = async (home: string, language: 'py' | 'ts', json: boolean) => {
        const saveDir = join(home, 'saved');
        await mkdir(saveDir);
        const args = ['receive', twin, '--keep', '--no-receipts', '--save-dir', saveDir];
        if (json) args.push('--json');
        const run = await (language === 'py'
          ? runPythonCli(home, args)
          : runCliProcess(args, { DEADDROP_HOME: home }));
        expect(run.code, run.stderr).toBe(0);
        return { stdout: run.stdout.replaceAll(saveDir, '<saved>'), stderr: run.stderr };
      };
      const [py, ts, pyJson, tsJson] = await Promise.all([
        read(homes[0] ?? '', 'py', false),
        read(homes[1] ?? '', 'ts', false),
        read(homes[2] ?? '', 'py', true),
        read(homes[3] ?? '', 'ts', true),
      ]);
      expect(ts.stdout).toContain('from parity-sender ✓ verified');
      expect(ts.stdout).toContain('saved to <saved>/evil.pdf (3 B)');
      expect(ts.stderr).toMatch(/skipped: bad-inner/);
      expect(py).toEqual(ts);
      expect(tsJson.stdout.split('\n').length).toBe(6);
      expect(pyJson).toEqual(tsJson);

      // A proof for a script: one request each, scope the procedure called.
      const { relayId } = await sender.info();
      for (const args of [[], ['--relay-id', relayId]]) {
        const proof = await runPythonCli(first, ['proof', twin, 'stats', ...args]);
        expect(proof.code, proof.stderr).toBe(0);
        const stats = await fetch(`${relay.url}/v1/stats`, {
          headers: { authorization: proof.stdout.trim() },
        });
        expect(stats.status).toBe(200);
        expect(((await stats.json()) as { agentId: string }).agentId).toBe(twin);
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'print the same lines for a group send, a reply (--all too) and the receipts',
    async () => {
      const senderId = 'group-sender';
      const [one, two, nobody] = ['group-one', 'group-two', 'group-nobody'];
      const home = (name: string) => join(scratch, 'group', name);
      const ts = (where: string, args: readonly string[]) =>
        runCliProcess(args, { DEADDROP_HOME: home(where) });
      const py = (where: string, args: readonly string[]) => runPythonCli(home(where), args);
      for (const [where, id] of [
        ['py-sender', senderId],
        ['py-one', one],
        ['two', two],
      ] as const) {
        const made = await py(where, ['init', id, '--server', relay.url]);
        expect(made.code, made.stderr).toBe(0);
      }
      // One sender identity for each CLI, neither with a pin yet: both pin on first contact.
      await cp(home('py-sender'), home('ts-sender'), { recursive: true });

      // A group send with one recipient nobody registered: a line each, exit 1 from both.
      const send = ['send', senderId, `${one},${nobody},${two}`, 'hello group', '--receipt'];
      const tsSent = await ts('ts-sender', send);
      const pySent = await py('py-sender', send);
      expect(tsSent.code, tsSent.stderr).toBe(1);
      expect(tsSent.stdout).toMatch(
        /^group [A-Za-z0-9_-]{22}: group-sender, group-one, group-nobody, group-two$/m,
      );
      expect(tsSent.stdout).toContain('not sent to group-nobody: ');
      expect(tsSent.stderr).toContain('not sent to group-nobody (1 of 3); sent to the other 2');
      expect(normalized(pySent)).toEqual(normalized(tsSent));

      // The recipient reads both copies (sending the receipts they ask for), then answers the
      // TypeScript sender's copy from a copy of its home with each CLI.
      const read = await py('py-one', ['receive', one, '--keep', '--json']);
      expect(read.code, read.stderr).toBe(0);
      const [first] = read.stdout
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as { id: string; group?: { members: string[] } });
      expect(first?.group?.members).toEqual([senderId, one, nobody, two]);
      const messageId = first?.id ?? '';
      await cp(home('py-one'), home('ts-one'), { recursive: true });
      for (const extra of [[], ['--all']]) {
        const args = ['reply', one, messageId, 'answering', ...extra];
        const tsReply = await ts('ts-one', args);
        const pyReply = await py('py-one', args);
        expect(tsReply.code, tsReply.stderr).toBe(extra.length === 0 ? 0 : 1);
        expect(tsReply.stdout).toContain('group-sender: key fingerprint');
        expect(normalized(pyReply)).toEqual(normalized(tsReply));
      }
      const unknown = ['reply', one, '1-0', 'x'];
      expect(await py('py-one', unknown)).toEqual(await ts('ts-one', unknown));

      // The receipts, read by each sender: the same state file printed by both CLIs, byte for byte.
      for (const where of ['py-sender', 'ts-sender']) {
        const received = await py(where, ['receive', senderId, '--keep', '--no-receipts']);
        expect(received.code, received.stderr).toBe(0);
        for (const json of [[], ['--json']]) {
          const args = ['receipts', senderId, ...json];
          const [tsReceipts, pyReceipts] = [await ts(where, args), await py(where, args)];
          expect(tsReceipts.code, tsReceipts.stderr).toBe(0);
          expect(pyReceipts).toEqual(tsReceipts);
        }
        const lines = (await ts(where, ['receipts', senderId])).stdout;
        expect(lines).toMatch(/ to group-one \(id \d+-\d+, sent [^)]+\): delivered ✓ at /);
        expect(lines).toMatch(/ to group-two \(id \d+-\d+, sent [^)]+\): waiting/);
      }
      const none = ['receipts', two];
      expect(await py('two', none)).toEqual(await ts('two', none));
    },
    TEST_TIMEOUT_MS,
  );
});
