// `deaddrop send` to a relay that is down, as a child process: while the SDK retries (about 7 s
// with the default policy), each retry is announced on stderr instead of silence.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createIdentity } from '../src/keystore.js';
import { freePort } from '@deaddrop/test-support/spawn-relay';
import { runCliProcess } from './cli-process.js';

let home: string;
let relayUrl: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'deaddrop-cli-retry-'));
  // A port nothing listens on: every attempt is refused at once.
  relayUrl = `http://127.0.0.1:${await freePort()}`;
  await createIdentity('alice', { home, relayUrl });
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

it('says it is retrying, and which attempt comes next, while the relay is unreachable', async () => {
  let stderr = '';
  const run = await runCliProcess(
    ['send', 'alice', 'bob', 'hello?'],
    { DEADDROP_HOME: home },
    undefined,
    (child) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        // Two retries announced are enough: the rest of the policy's ~7 s is not under test.
        if (stderr.includes('attempt 3 of 5')) child.kill('SIGTERM');
      });
    },
  );
  expect(run.stdout).toBe('');
  const lines = run.stderr.trimEnd().split('\n');
  const escaped = relayUrl.replace(/\./g, '\\.');
  expect(lines).toEqual([
    expect.stringMatching(
      new RegExp(
        `^cannot reach the relay at ${escaped} \\(ECONNREFUSED\\); check --server or DEADDROP_SERVER_URL; retrying in \\d+\\.\\d s \\(attempt 2 of 5\\)$`,
      ),
    ) as unknown,
    expect.stringMatching(/; retrying in \d+\.\d s \(attempt 3 of 5\)$/) as unknown,
  ]);
});
