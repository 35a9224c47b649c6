import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
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
    readStdin: () => Promise.resolve(new Uint8Array()),
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
    [['recieve', 'alice'], 'unknown command "recieve" (did you mean "receive"?)'],
    [['receive', 'alice', '--jsn'], 'unknown option --jsn (did you mean --json?)'],
    [['-V'], 'unknown option -V (did you mean -v?)'],
    [['receive', 'alice', '--wait', '-5'], 'between 0 and 86400, got "-5"'],
    [['receive', 'alice', '--wait'], '--wait needs a value: --wait <seconds>'],
    [['send', 'a', 'b', '--key', '--strict'], 'written --key=<agentKey>'],
    [['list', '--json=yes'], '--json takes no value'],
    [['send', 'alice', 'bob', '-5'], 'goes after "--"'],
    [['send', 'alice', 'bob', ''], 'the message is empty; nothing sent'],
  ])('reports a usage mistake %j in one line with exit code 2', async (argv, text) => {
    const result = await run(argv, { DEADDROP_HOME: home });
    expect(result.code).toBe(2);
    expect(result.err).toHaveLength(1);
    expect(result.err[0]).toContain(text);
    expect(result.out).toBe('');
  });

  it('words usage mistakes itself: no parseArgs text, balanced quotes', async () => {
    for (const argv of [['--bogus'], ['list', '--bogus'], ['receive', 'a', '--wait', '-5']]) {
      const [line = ''] = (await run(argv, { DEADDROP_HOME: home })).err;
      expect(line).not.toMatch(/To specify|ambiguous/);
      expect(line.split('"').length % 2).toBe(1);
    }
  });

  it('prints its version on --version and -v, from the client package.json', async () => {
    const manifest = JSON.parse(
      await readFile(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    for (const flag of ['--version', '-v']) {
      expect(await run([flag])).toEqual({ code: 0, out: `deaddrop ${manifest.version}`, err: [] });
    }
    expect((await run(['--help'])).out).toContain('-v, --version');
  });

  it('refuses an empty message from stdin too, before sending anything', async () => {
    await createIdentity('alice', { home, relayUrl: 'http://127.0.0.1:9' });
    const result = await run(['send', 'alice', 'bob', '-', '--home', home]);
    expect(result).toEqual({
      code: 2,
      out: '',
      err: ['deaddrop: the message on stdin is empty; nothing sent'],
    });
  });

  it('reports damaged identity files on stderr and still lists the good ones', async () => {
    const alice = await createIdentity('alice', { home, relayUrl: 'http://127.0.0.1:9' });
    await writeFile(join(home, 'agents', 'bob.json'), '{"v":1,', { mode: 0o600 });
    const result = await run(['list', '--home', home]);
    expect(result.code).toBe(0);
    expect(result.out).toBe(`alice  ${alice.fingerprint}  http://127.0.0.1:9`);
    expect(result.err).toEqual([
      `warning: ${join(home, 'agents', 'bob.json')} is not a valid DeadDrop identity file (unreadable or not JSON); skipped`,
    ]);

    await rm(join(home, 'agents', 'alice.json'));
    const nothing = await run(['whoami', '--json', '--home', home]);
    expect(nothing.code).toBe(1);
    expect(nothing.out).toBe('');
    expect(nothing.err).toEqual([
      expect.stringContaining('bob.json is not a valid DeadDrop identity file') as unknown,
      `deaddrop: no readable identity in ${home}: 1 damaged file(s), listed above`,
    ]);
  });

  it.skipIf(process.platform === 'win32')(
    'warns when other users can read an identity or its folder, saying how to fix it',
    async () => {
      const alice = await createIdentity('alice', { home, relayUrl: 'http://127.0.0.1:9' });
      const file = join(home, 'agents', 'alice.json');
      await chmod(file, 0o644);
      await chmod(join(home, 'agents'), 0o750);
      const expected = [
        `warning: ${join(home, 'agents')} is readable by other users (mode 0750) and it holds the identities and their pins; fix with: chmod 700 ${join(home, 'agents')}`,
        `warning: ${file} is readable by other users (mode 0644) and it holds alice's secret key; fix with: chmod 600 ${file}`,
      ];
      expect(await run(['key', 'alice', '--home', home])).toEqual({
        code: 0,
        out: alice.agentKey,
        err: expected,
      });
      expect((await run(['list', '--home', home])).err).toEqual(expected);
      // Commands that open a client warn before they call the relay (here: one that is not there).
      const stats = await run(['stats', 'alice', '--home', home]);
      expect(stats.err.slice(0, 2)).toEqual(expected);

      await chmod(file, 0o600);
      await chmod(join(home, 'agents'), 0o700);
      expect((await run(['key', 'alice', '--home', home])).err).toEqual([]);

      // The home folder may be a shared parent: only others' right to write there counts, and
      // not with the sticky bit (/tmp's), which keeps them from renaming what is not theirs.
      await chmod(home, 0o750);
      expect((await run(['key', 'alice', '--home', home])).err).toEqual([]);
      await chmod(home, 0o770);
      expect((await run(['key', 'alice', '--home', home])).err).toEqual([
        `warning: ${home} is readable and writable by other users (mode 0770) and others could replace the identities in it; fix with: chmod go-w ${home}`,
      ]);
      // `init` says so too, before it registers (here on a relay that is not there).
      const init = await run(['init', 'erin', '--home', home, '--server', 'http://127.0.0.1:9']);
      expect(init.err[0]).toBe(
        `warning: ${home} is readable and writable by other users (mode 0770) and others could replace the identities in it; fix with: chmod go-w ${home}`,
      );
      expect(init.code).toBe(1);
      await chmod(home, 0o1777);
      expect((await run(['key', 'alice', '--home', home])).err).toEqual([]);
      await chmod(home, 0o700);
    },
  );

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

  it('takes exactly one body for send and reply, checked before any relay call', async () => {
    const cases: [string[], string][] = [
      [['send', 'a', 'b'], 'nothing to send: give a message, -'],
      [['send', 'a', 'b', 'hi', '--json', '1'], 'give exactly one body, not 2'],
      [['reply', 'a', '1-0', '--file', 'x', '--json', '{}'], 'give exactly one body, not 2'],
      [['send', 'a', 'b', 'hi', '--type', 'text/plain'], '--type goes with --file'],
      [
        ['send', 'a', 'b', '--file', 'x', '--type', 'not a type'],
        '--type "not a type": contentType must be a MIME type',
      ],
      [['send', 'a', 'b', '--json'], '--json needs a value'],
      [['send', 'a', 'b', '--json', '[1'], '--json is not valid JSON'],
      [['receive', 'a', '--file', 'x'], 'receive does not take --file'],
    ];
    for (const [argv, text] of cases) {
      const result = await run([...argv, '--home', home]);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.err, argv.join(' ')).toEqual([expect.stringContaining(text) as unknown]);
    }
  });

  it('reads --json of send as the body (even one that starts with "-") and of receive as a switch', async () => {
    // Parsed, then the missing identity is what stops it: the body was accepted.
    const sent = await run(['send', 'ghost', 'b', '--json', '-5', '--home', home]);
    expect(sent.err).toEqual([expect.stringContaining('no identity "ghost"') as unknown]);
    const received = await run(['receive', 'ghost', '--json', '--home', home]);
    expect(received.err).toEqual([expect.stringContaining('no identity "ghost"') as unknown]);
  });

  it('refuses a --save-dir that is not a folder', async () => {
    const result = await run(['receive', 'a', '--save-dir', join(home, 'none'), '--home', home]);
    expect(result.code).toBe(2);
    expect(result.err).toEqual([expect.stringContaining('is not a folder') as unknown]);
  });
});
