import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createIdentity } from '../keystore.js';
import type { CliIo } from './io.js';
import { runCli } from './run-cli.js';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'deaddrop-cli-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    readStdin: () => Promise.resolve(''),
    env,
    interrupted: () => new AbortController().signal,
  };
  const code = await runCli(argv, io);
  return { code, out: out.join('\n'), err };
}

describe('runCli', () => {
  it('prints help on --help and exits 0', async () => {
    const result = await run(['--help']);
    expect(result.code).toBe(0);
    expect(result.out).toContain('usage: deaddrop');
    for (const command of ['init', 'key', 'send', 'receive', 'listen', 'stats', 'whoami', 'list']) {
      expect(result.out).toContain(command);
    }
    expect((await run(['send', '--help'])).out).toContain('usage: deaddrop send');
  });

  it.each([
    [[], 'missing command'],
    [['frobnicate'], 'unknown command'],
    [['key'], 'key takes <agent>'],
    [['send', 'a', 'b', 'c', 'd'], 'send takes'],
    [['key', 'alice', '--keep'], 'key does not take --keep'],
    [['receive', 'alice', '--ws'], 'receive does not take --ws'],
    [['listen'], 'listen takes <agent>'],
    [['receive', 'alice', '--bogus'], 'bogus'],
    [['receive', 'alice', '--wait', 'soon'], '--wait takes seconds'],
  ])('reports a usage mistake %j in one line with exit code 2', async (argv, text) => {
    const result = await run(argv, { DEADDROP_HOME: home });
    expect(result.code).toBe(2);
    expect(result.err).toHaveLength(1);
    expect(result.err[0]).toContain(text);
    expect(result.out).toBe('');
  });

  it('prints only the agent key for `key`', async () => {
    const identity = await createIdentity('alice', { home, relayUrl: 'http://127.0.0.1:9' });
    const result = await run(['key', 'alice', '--home', home]);
    expect(result).toEqual({ code: 0, out: identity.agentKey, err: [] });
  });

  it('lists identities with fingerprints (DEADDROP_HOME or --home)', async () => {
    const alice = await createIdentity('alice', { home, relayUrl: 'http://127.0.0.1:9' });
    await createIdentity('bob', { home, relayUrl: 'http://127.0.0.1:9' });
    const result = await run(['whoami'], { DEADDROP_HOME: home });
    expect(result.code).toBe(0);
    expect(result.out.split('\n')).toEqual([
      `alice  ${alice.fingerprint}  http://127.0.0.1:9`,
      expect.stringMatching(/^bob {4}[0-9a-f-]{24} {2}http:\/\/127\.0\.0\.1:9$/) as unknown,
    ]);
    expect((await run(['list', '--home', home, '--json'])).out.split('\n')).toHaveLength(2);
  });

  it('fails in one line (exit 1) for a missing identity', async () => {
    const result = await run(['send', 'ghost', 'bob', 'hi', '--home', home]);
    expect(result.code).toBe(1);
    expect(result.err).toEqual([expect.stringContaining('no identity "ghost"') as unknown]);
  });

  it('undoes init when the relay cannot be reached, so it can be retried', async () => {
    const result = await run(['init', 'alice', '--home', home, '--server', 'http://127.0.0.1:9']);
    expect(result.code).toBe(1);
    expect(result.err).toEqual([expect.stringContaining('cannot reach the relay') as unknown]);
    expect(await readdir(join(home, 'agents'))).toEqual([]);
  });

  it('reports an invalid environment variable by name', async () => {
    const result = await run(['stats', 'alice'], {
      DEADDROP_SERVER_URL: 'nope',
      DEADDROP_HOME: home,
    });
    expect(result.code).toBe(1);
    expect(result.err).toEqual([expect.stringContaining('DEADDROP_SERVER_URL') as unknown]);
  });
});
