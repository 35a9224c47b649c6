// `python3 -m deaddrop` prints what `deaddrop` (the TypeScript CLI) prints: the same usage errors and
// exit codes for the same mistakes, and — reading the same mail with copies of one identity — the
// same `receive` lines, human and `--json`, byte for byte (saved files' folders aside).
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
];

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
});
