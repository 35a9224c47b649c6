// The Python client (python/deaddrop, its CLI and the example agent) against a real relay's plain
// HTTP API, beside the TypeScript SDK and CLI, on both stores: messages, files and receipts both
// ways; one identity used from both languages in turn (pins, cursor, replay cache and prekeys kept
// in the same files); hostile content (a body nested 10,000 deep) reported once while the next
// message arrives; a live `listen`; a Python group send to TypeScript and Python agents answered
// by a TypeScript reply-all; and python/examples/echo_agent.py answering a message.
// @module-tag slow (runs the relay, the Python client and the CLI as processes): npm test only
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentKey, randomBytes, sealInnerBytes, toB64u, utf8 } from '@deaddrop/contract';
import {
  DeadDropClient,
  createIdentity,
  isUnreadable,
  loadIdentity,
  type InboxEntry,
  type ReceiptEvent,
  type ReceivedMessage,
} from '@deaddrop/client';
import {
  RATE_LIMITS_OFF,
  freePort,
  spawnRelay,
  type SpawnedRelay,
} from '@deaddrop/test-support/spawn-relay';
import { jsonLines, runCliProcess } from '../../client/test/cli-process.js';
import {
  NO_PYTHON,
  findPython,
  runPythonCli,
  startPython,
  type PythonRun,
} from './python-process.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const run = toB64u(randomBytes(6))
  .toLowerCase()
  .replace(/[^a-z0-9]/g, 'x');
/** Each test runs several Python and Node processes, a second or more each on a busy machine. */
const TEST_TIMEOUT_MS = 180_000;

const stores: { store: string; env: Record<string, string> }[] = [
  { store: 'embedded', env: {} },
  { store: 'redis', env: { REDIS_URL, REDIS_KEY_PREFIX: `test-python-${run}:` } },
];

/** Lines of a process's stdout, as they come, until `done` says enough. */
function readLines(
  child: ChildProcessWithoutNullStreams,
  stream: 'stdout' | 'stderr',
  done: (lines: string[]) => boolean,
  timeoutMs = 60_000,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let text = '';
    const lines = (): string[] => text.split('\n').filter((line) => line !== '');
    const timer = setTimeout(() => {
      reject(new Error(`timed out waiting on ${stream}; it said:\n${text}`));
    }, timeoutMs);
    const check = (chunk: Buffer): void => {
      text += chunk.toString();
      if (done(lines())) {
        clearTimeout(timer);
        child[stream].off('data', check);
        resolve(lines());
      }
    };
    child[stream].on('data', check);
  });
}

function exited(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else
      child.once('exit', (code) => {
        resolve(code);
      });
  });
}

function ok(result: PythonRun): PythonRun {
  expect(result.code, `exit ${result.code}\n${result.stderr}`).toBe(0);
  return result;
}

describe.each(stores)(
  'the Python client beside the TypeScript one ($store store)',
  ({ store, env }) => {
    const python = findPython();
    if (python === null) {
      it.skip(NO_PYTHON, () => undefined);
      return;
    }
    let relay: SpawnedRelay;
    let scratch: string;
    const clients: DeadDropClient[] = [];
    const children: ChildProcessWithoutNullStreams[] = [];

    const id = (name: string): string => `${name}-p${store.slice(0, 1)}-${run}`;
    const home = (agentId: string): string => join(scratch, agentId);

    /** A TypeScript agent: registered through the SDK, with its receipts collected. */
    async function tsAgent(
      name: string,
    ): Promise<{ id: string; sdk: DeadDropClient; receipts: ReceiptEvent[] }> {
      const agentId = id(name);
      const receipts: ReceiptEvent[] = [];
      const identity = await createIdentity(agentId, { home: home(agentId), relayUrl: relay.url });
      const sdk = new DeadDropClient({ identity, onReceipt: (event) => receipts.push(event) });
      await sdk.register();
      clients.push(sdk);
      return { id: agentId, sdk, receipts };
    }

    /** A Python agent, made by `python3 -m deaddrop init`. */
    async function pyAgent(name: string): Promise<string> {
      const agentId = id(name);
      const made = ok(await runPythonCli(home(agentId), ['init', agentId, '--server', relay.url]));
      expect(made.stdout).toContain(`registered ${agentId} on ${relay.url}`);
      return agentId;
    }

    async function messagesOf(client: DeadDropClient, waitMs = 0): Promise<ReceivedMessage[]> {
      const entries = await client.pollAndDecrypt({ limit: 100, timeoutMs: waitMs });
      return entries.filter((entry): entry is ReceivedMessage => !isUnreadable(entry));
    }

    /** Drops a ciphertext into a mailbox through the plain API, past any client's checks. */
    async function drop(to: string, ciphertext: string): Promise<string> {
      const response = await fetch(`${relay.url}/v1/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to, ciphertext }),
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as { id: string }).id;
    }

    beforeAll(async () => {
      [relay, scratch] = await Promise.all([
        spawnRelay({ ...RATE_LIMITS_OFF, ...env }),
        mkdtemp(join(tmpdir(), `deaddrop-python-${store}-`)),
      ]);
    }, TEST_TIMEOUT_MS);

    afterAll(async () => {
      for (const child of children) child.kill('SIGKILL');
      for (const client of clients) client.close();
      await relay.stop();
      await rm(scratch, { recursive: true, force: true });
    }, TEST_TIMEOUT_MS);

    it(
      'sends to a group of TypeScript and Python agents, and reads the reply-all from TypeScript',
      async () => {
        const [one, two] = [await tsAgent('group-ts1'), await tsAgent('group-ts2')];
        const [sender, other] = [await pyAgent('group-py1'), await pyAgent('group-py2')];
        const members = [sender, one.id, two.id, other];

        const sent = ok(
          await runPythonCli(home(sender), [
            'send',
            sender,
            `${one.id},${two.id},${other}`,
            'hello group',
            '--receipt',
          ]),
        );
        const groupId = /^group ([A-Za-z0-9_-]{22}): /.exec(sent.stdout)?.[1] ?? '';
        expect(sent.stdout.split('\n')[0]).toBe(`group ${groupId}: ${members.join(', ')}`);
        expect(sent.stdout.match(/forward secret: sealed to a one-time prekey/g)).toHaveLength(3);

        // Each copy sealed to its recipient alone, every one naming the whole group.
        const [atOne] = await messagesOf(one.sdk);
        const [atTwo] = await messagesOf(two.sdk);
        for (const message of [atOne, atTwo]) {
          expect(message).toMatchObject({
            from: sender,
            body: 'hello group',
            verified: true,
            forwardSecret: true,
            receiptRequested: true,
            group: { id: groupId, members },
          });
        }
        expect(atOne?.uid).not.toBe(atTwo?.uid);
        const [atOther] = jsonLines(
          ok(await runPythonCli(home(other), ['receive', other, '--json'])).stdout,
        );
        expect(atOther).toMatchObject({
          from: sender,
          body: 'hello group',
          verified: true,
          group: { id: groupId, members },
        });

        // Reply-all from TypeScript: to the Python sender and both others, in the same group.
        if (atOne === undefined) throw new Error('no message');
        const answered = await one.sdk.replyAll(atOne, 'answering all');
        expect(answered.groupId).toBe(groupId);
        expect(answered.results.map((result) => [result.to, result.ok])).toEqual([
          [sender, true],
          [two.id, true],
          [other, true],
        ]);
        await one.sdk.flushReceipts();
        await two.sdk.flushReceipts();
        for (const agent of [sender, other]) {
          const lines = jsonLines(
            ok(await runPythonCli(home(agent), ['receive', agent, '--json'])).stdout,
          );
          const answer = lines.find((line) => line.kind === 'message');
          expect(answer).toMatchObject({
            from: one.id,
            body: 'answering all',
            verified: true,
            replyTo: atOne.uid,
            threadId: atOne.uid,
            group: { id: groupId, members },
          });
        }
        expect((await messagesOf(two.sdk)).map((message) => message.body)).toEqual([
          'answering all',
        ]);
        // Every recipient that read the group message sent the receipt it asked for.
        const receipts = ok(await runPythonCli(home(sender), ['receipts', sender])).stdout;
        for (const to of [one.id, two.id, other]) {
          expect(receipts).toMatch(new RegExp(` to ${to} \\(id [^)]+\\): delivered ✓ at `));
        }
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'exchanges text, JSON, files and receipts both ways',
      async () => {
        const ts = await tsAgent('ts');
        const py = await pyAgent('py');

        // TypeScript → Python: text asking for a receipt, JSON, a file; all forward secret.
        const text = await ts.sdk.sendMessage({
          to: py,
          message: 'héllo from TypeScript',
          receipt: true,
        });
        const json = await ts.sdk.sendMessage({ to: py, message: { task: 'sum', args: [1, 2.5] } });
        const bytes = randomBytes(3000);
        await ts.sdk.sendMessage({
          to: py,
          bytes,
          contentType: 'application/pdf',
          filename: 'r.pdf',
        });
        expect([text.forwardSecret, json.forwardSecret]).toEqual([true, true]);

        const saveDir = join(scratch, 'saved');
        await mkdir(saveDir);
        const received = ok(
          await runPythonCli(home(py), ['receive', py, '--json', '--save-dir', saveDir]),
        );
        const lines = jsonLines(received.stdout);
        expect(lines.map((line) => line.body ?? line.savedPath)).toEqual([
          'héllo from TypeScript',
          { task: 'sum', args: [1, 2.5] },
          join(saveDir, 'r.pdf'),
        ]);
        for (const line of lines) {
          expect(line).toMatchObject({
            from: ts.id,
            verified: true,
            forwardSecret: true,
            pinSource: 'directory',
          });
        }
        expect(lines[0]).toMatchObject({ uid: text.uid, receiptRequested: true, kind: 'message' });
        expect(Object.keys(lines[0] ?? {})).toEqual([
          'id',
          'from',
          'fromKey',
          'verified',
          'sentAt',
          'body',
          'receivedAt',
          'uid',
          'kind',
          'receiptRequested',
          'forwardSecret',
          'prekeyId',
          'fromFingerprint',
          'pinSource',
        ]);
        expect(new Uint8Array(await readFile(join(saveDir, 'r.pdf')))).toEqual(bytes);

        // The receipt the Python client sent comes back to TypeScript as a verified event.
        expect(await messagesOf(ts.sdk, 10_000)).toEqual([]);
        expect(ts.receipts.map((event) => [event.from, event.of, event.verified])).toEqual([
          [py, [text.uid], true],
        ]);

        // Python → TypeScript: text with a receipt, JSON from --json, a file from --file.
        const file = join(scratch, 'notes.md');
        await writeFile(file, '# notes\n');
        const sent = ok(
          await runPythonCli(home(py), ['send', py, ts.id, 'hello from Python', '--receipt']),
        );
        // Python pinned the TypeScript agent when it read its mail (trust on first use).
        expect(sent.stdout).toMatch(
          new RegExp(
            `^${ts.id}: key fingerprint ${ts.sdk.fingerprint} \\(matches your pin from the relay directory\\)\\nsent \\S+ to ${ts.id} \\(\\d+ B sealed, forward secret: sealed to a one-time prekey\\)\\n$`,
          ),
        );
        ok(await runPythonCli(home(py), ['send', py, ts.id, '--json', '{"n":[1,{"deep":true}]}']));
        ok(await runPythonCli(home(py), ['send', py, ts.id, '--file', file]));
        ok(await runPythonCli(home(py), ['send', py, ts.id, '-'], 'from stdin\n'));
        const back = await messagesOf(ts.sdk);
        expect(back.map((message) => message.body)).toEqual([
          'hello from Python',
          { n: [1, { deep: true }] },
          toB64u(utf8('# notes\n')),
          'from stdin',
        ]);
        for (const message of back) {
          expect(message).toMatchObject({ from: py, verified: true, forwardSecret: true });
        }
        expect(back[2]).toMatchObject({
          contentType: 'text/markdown; charset=utf-8',
          filename: 'notes.md',
        });
        await ts.sdk.flushReceipts();
        const receipt = ok(await runPythonCli(home(py), ['receive', py]));
        expect(receipt.stdout).toBe(`delivered ✓ ${back[0]?.uid ?? '?'} to ${ts.id}\n`);
        const nothing = ok(await runPythonCli(home(py), ['receive', py]));
        expect(nothing.stderr).toBe('no new messages\n');
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'uses one identity from both languages in turn: pins, cursor, replay cache and prekeys kept',
      async () => {
        const peer = await tsAgent('peer');
        const dual = await pyAgent('dual');
        const dualHome = home(dual);
        const tsCli = (args: readonly string[]) => runCliProcess(args, { DEADDROP_HOME: dualHome });

        // Python pinned the peer on first contact; the TypeScript CLI finds that pin.
        ok(await runPythonCli(dualHome, ['send', dual, peer.id, 'one']));
        const fromTs = await tsCli(['send', dual, peer.id, 'two']);
        expect(fromTs.stderr).toBe('');
        expect(fromTs.stdout).toContain('(matches your pin from the relay directory)');
        expect((await messagesOf(peer.sdk)).map((message) => message.body)).toEqual(['one', 'two']);

        // Mail sealed to the prekeys Python published is opened by the TypeScript CLI, and the
        // other way round once TypeScript has topped them up; the cursor moves for both.
        await peer.sdk.sendMessage({ to: dual, message: 'first' });
        const first = await tsCli(['receive', dual, '--json', '--keep']);
        expect(jsonLines(first.stdout)).toMatchObject([
          { body: 'first', verified: true, forwardSecret: true },
        ]);
        await peer.sdk.sendMessage({ to: dual, message: 'second' });
        const second = ok(await runPythonCli(dualHome, ['receive', dual, '--json', '--keep']));
        expect(jsonLines(second.stdout)).toMatchObject([
          { body: 'second', verified: true, forwardSecret: true },
        ]);
        expect((await tsCli(['receive', dual])).stderr).toBe('no new messages\n');

        // A copy of a message read by one language is a replay to the other: the TypeScript SDK of
        // the same identity fetches the stored ciphertexts and drops copies back in.
        const sameIdentity = new DeadDropClient({
          identity: await loadIdentity(dual, { home: dualHome }),
        });
        clients.push(sameIdentity);
        // A v1 message too (sealed to the identity key): its copy is caught by the replay cache,
        // the v2 ones' by the used prekey ids.
        const dualKey = (await peer.sdk.lookup(dual)).agentKey;
        const v1 = await peer.sdk.sendMessage({
          to: dual,
          message: 'third',
          recipientKey: dualKey,
          acceptKey: true,
        });
        expect(v1.forwardSecret).toBe(false);
        const third = ok(await runPythonCli(dualHome, ['receive', dual, '--json', '--keep']));
        expect(jsonLines(third.stdout)).toMatchObject([
          { body: 'third', uid: v1.uid, forwardSecret: false },
        ]);
        const all = (await sameIdentity.poll({ after: '0-0' })).messages;
        for (const message of all) await drop(dual, message.ciphertext);
        const replays = await tsCli(['receive', dual, '--json', '--keep']);
        expect(jsonLines(replays.stdout).map((line) => line.error)).toEqual([
          'replayed',
          'replayed',
          'replayed',
        ]);
        for (const message of all) await drop(dual, message.ciphertext);
        const replaysPy = ok(await runPythonCli(dualHome, ['receive', dual, '--json']));
        expect(jsonLines(replaysPy.stdout).map((line) => line.error)).toEqual([
          'replayed',
          'replayed',
          'replayed',
        ]);

        // The identity file is still one both can read, with the peer's pin and its prekey file.
        const identityFile = JSON.parse(
          await readFile(join(dualHome, 'agents', `${dual}.json`), 'utf8'),
        ) as {
          pins: Record<string, { source: string }>;
        };
        expect(identityFile.pins[peer.id]?.source).toBe('directory');
        const whoami = await tsCli(['whoami', '--json']);
        expect(jsonLines(whoami.stdout).map((line) => line.agentId)).toEqual([dual]);
        expect(jsonLines(ok(await runPythonCli(dualHome, ['whoami', '--json'])).stdout)).toEqual(
          jsonLines(whoami.stdout),
        );
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'reports a body nested 10,000 deep as unreadable once, and delivers the next message',
      async () => {
        const sender = await tsAgent('hostile');
        const py = await pyAgent('target');
        const key = parseAgentKey((await sender.sdk.lookup(py)).agentKey);
        if (key === null) throw new Error('no key');
        const head = JSON.stringify({
          v: 1,
          id: toB64u(randomBytes(16)),
          kind: 'message',
          from: sender.id,
          fromKey: sender.sdk.agentKey,
          to: py,
          sentAt: Date.now(),
        });
        const deep = `${head.slice(0, -1)},"body":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
        const { ciphertext } = sealInnerBytes(utf8(deep), {
          sender: sender.sdk.identity.keys,
          recipient: key,
        });
        const hostileId = await drop(py, ciphertext);
        await sender.sdk.sendMessage({ to: py, message: 'after the deep one' });

        const first = ok(await runPythonCli(home(py), ['receive', py, '--json']));
        const [unreadable, next] = jsonLines(first.stdout);
        expect(unreadable).toEqual({
          id: hostileId,
          receivedAt: expect.any(Number) as number,
          error: 'bad-inner',
        });
        expect(next).toMatchObject({ body: 'after the deep one', verified: true });
        const human = ok(await runPythonCli(home(py), ['receive', py]));
        expect(human.stderr).toBe('no new messages\n');

        await drop(py, ciphertext);
        const again = ok(await runPythonCli(home(py), ['receive', py]));
        expect(again.stderr).toMatch(
          /^warning: message \S+ skipped: bad-inner \(malformed message inside the envelope\)\n/,
        );
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'listens live over SSE, resuming from the cursor the TypeScript CLI shares',
      async () => {
        const sender = await tsAgent('live-sender');
        const py = await pyAgent('live');
        await sender.sdk.sendMessage({ to: py, message: 'backlog' });
        const listener = startPython(['-m', 'deaddrop', 'listen', py, '--json'], {
          DEADDROP_HOME: home(py),
        });
        children.push(listener);
        await readLines(listener, 'stderr', (lines) =>
          lines.some((line) => line.startsWith('listening as')),
        );
        await sender.sdk.sendMessage({ to: py, message: 'live one', receipt: true });
        await sender.sdk.sendMessage({ to: py, message: 'live two' });
        const lines = await readLines(listener, 'stdout', (seen) => seen.length >= 3);
        expect(lines.map((line) => (JSON.parse(line) as { body: unknown }).body)).toEqual([
          'backlog',
          'live one',
          'live two',
        ]);
        // The receipt goes out within a second of the hand-over.
        await expect
          .poll(
            async () => {
              await messagesOf(sender.sdk);
              return sender.receipts.length;
            },
            { timeout: 20_000 },
          )
          .toBe(1);
        listener.kill('SIGINT');
        expect(await exited(listener)).toBe(0);
        // Deleted once printed, and the cursor saved: nothing is shown twice, by either language.
        const after = await runCliProcess(['receive', py], { DEADDROP_HOME: home(py) });
        expect(after.stderr).toBe('no new messages\n');
        expect((await sender.sdk.lookup(py)).agentId).toBe(py);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'keeps listening across a relay restart, resuming after the last message',
      async () => {
        const dataDir = join(scratch, 'restart-data');
        const port = String(await freePort());
        const relayEnv = { ...RATE_LIMITS_OFF, ...env, PORT: port, DEADDROP_DATA_DIR: dataDir };
        let own = await spawnRelay(relayEnv);
        try {
          const senderId = id('restart-sender');
          const identity = await createIdentity(senderId, {
            home: home(senderId),
            relayUrl: own.url,
          });
          const sender = new DeadDropClient({ identity });
          clients.push(sender);
          await sender.register();
          const py = id('restart-py');
          ok(await runPythonCli(home(py), ['init', py, '--server', own.url]));
          const listener = startPython(['-m', 'deaddrop', 'listen', py, '--json'], {
            DEADDROP_HOME: home(py),
          });
          children.push(listener);
          await readLines(listener, 'stderr', (lines) =>
            lines.some((line) => line.startsWith('listening as')),
          );
          const stdout = readLines(listener, 'stdout', (lines) => lines.length >= 2);
          const stderr = readLines(listener, 'stderr', (lines) => lines.includes('reconnected'));
          const first = readLines(listener, 'stdout', (lines) => lines.length >= 1);
          await sender.sendMessage({ to: py, message: 'before the restart' });
          // Printed (and so saved) before the relay goes away.
          await first;
          await own.stop();
          own = await spawnRelay(relayEnv);
          await sender.sendMessage({ to: py, message: 'after the restart' });
          expect(
            (await stdout).map((line) => (JSON.parse(line) as { body: unknown }).body),
          ).toEqual(['before the restart', 'after the restart']);
          expect((await stderr).join('\n')).toMatch(/connection lost \(.+\); reconnecting/);
          listener.kill('SIGINT');
          expect(await exited(listener)).toBe(0);
        } finally {
          await own.stop();
          await rm(dataDir, { recursive: true, force: true });
        }
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'follows key rotations made in either language, and opens mail sealed to the retired key',
      async () => {
        const ts = await tsAgent('rot-ts');
        const py = await pyAgent('rot-py');
        ok(await runPythonCli(home(py), ['send', py, ts.id, 'before']));
        expect((await messagesOf(ts.sdk)).map((message) => message.body)).toEqual(['before']);
        // Mail sealed to the identity key Python is about to retire (v1, the key given).
        const oldKey = (await ts.sdk.lookup(py)).agentKey;
        await ts.sdk.sendMessage({
          to: py,
          message: 'to the old key',
          recipientKey: oldKey,
          acceptKey: true,
        });

        const rotated = ok(await runPythonCli(home(py), ['key', 'rotate', py, '--json']));
        const rotation = JSON.parse(rotated.stdout) as { oldKey: string; newKey: string };
        expect(rotation.oldKey).toBe(oldKey);
        expect((await ts.sdk.lookup(py)).agentKey).toBe(rotation.newKey);
        const identityFile = JSON.parse(
          await readFile(join(home(py), 'agents', `${py}.json`), 'utf8'),
        ) as { previousSeeds: unknown[] };
        expect(identityFile.previousSeeds).toHaveLength(1);

        // The retired seed opens what was sealed to it; TypeScript follows the signed chain.
        const old = ok(await runPythonCli(home(py), ['receive', py, '--json']));
        expect(jsonLines(old.stdout)).toMatchObject([{ body: 'to the old key', verified: true }]);
        const after = await ts.sdk.sendMessage({ to: py, message: 'to the new key' });
        expect(after).toMatchObject({
          recipientKey: rotation.newKey,
          pinChange: 'replaced',
          forwardSecret: true,
        });
        ok(await runPythonCli(home(py), ['send', py, ts.id, 'signed with the new key']));
        expect(await messagesOf(ts.sdk)).toMatchObject([
          { body: 'signed with the new key', verified: true },
        ]);
        const fresh = ok(await runPythonCli(home(py), ['receive', py, '--json']));
        expect(jsonLines(fresh.stdout)).toMatchObject([{ body: 'to the new key', verified: true }]);

        // Now TypeScript rotates: Python follows it as a sender and as a recipient.
        await ts.sdk.rotateKey();
        await ts.sdk.sendMessage({ to: py, message: 'from a rotated sender' });
        const followed = ok(await runPythonCli(home(py), ['receive', py, '--json']));
        expect(jsonLines(followed.stdout)).toMatchObject([
          { body: 'from a rotated sender', verified: true, fromKey: ts.sdk.agentKey },
        ]);
        expect(followed.stderr).toContain(`key rotated for "${ts.id}"`);
        const toRotated = ok(
          await runPythonCli(home(py), ['send', py, ts.id, 'to a rotated recipient']),
        );
        expect(toRotated.stdout).toContain('matches your pin from the relay directory');
        expect(await messagesOf(ts.sdk)).toMatchObject([
          { body: 'to a rotated recipient', verified: true },
        ]);
        // The TypeScript CLI reads the identity file Python rotated.
        const whoami = await runCliProcess(['whoami', '--json'], { DEADDROP_HOME: home(py) });
        expect(jsonLines(whoami.stdout)).toMatchObject([
          { agentId: py, agentKey: rotation.newKey },
        ]);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'runs the example echo agent, which answers in the thread',
      async () => {
        const asker = await tsAgent('asker');
        const echo = id('echo');
        const agent = startPython(['examples/echo_agent.py', echo, '--server', relay.url], {
          DEADDROP_HOME: home(echo),
        });
        children.push(agent);
        await readLines(agent, 'stdout', (lines) =>
          lines.some((line) => line.includes('listening on')),
        );
        const question = await asker.sdk.sendMessage({ to: echo, message: 'ping' });
        const json = await asker.sdk.sendMessage({ to: echo, message: { n: 1 } });
        const answers: InboxEntry[] = [];
        await expect
          .poll(
            async () => {
              answers.push(...(await asker.sdk.pollAndDecrypt({ timeoutMs: 1000 })));
              return answers.length;
            },
            { timeout: 60_000 },
          )
          .toBe(2);
        expect(answers).toMatchObject([
          {
            from: echo,
            verified: true,
            body: 'echo: ping',
            replyTo: question.uid,
            threadId: question.uid,
          },
          { from: echo, verified: true, body: { echo: { n: 1 } }, replyTo: json.uid },
        ]);
        agent.kill('SIGTERM');
        expect(await exited(agent)).toBe(0);
      },
      TEST_TIMEOUT_MS,
    );
  },
);
