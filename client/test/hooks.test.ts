// Wake-up webhooks through the SDK and the CLI (PROTOCOL §9), against a real relay whose
// allow-list names a loopback receiver: the receiving side verifies notices with the SDK's helper.
// @module-tag slow (runs the CLI as a dozen processes): npm test only, not npm run test:fast
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { DeadDropClient } from '../src/client.js';
import { createIdentity } from '../src/keystore.js';
import { WEBHOOK_SIGNATURE_HEADER, verifyWebhookNotice, type HookSetting } from '../src/index.js';
import { runCliProcess } from './cli-process.js';

interface Notice {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

let relay: SpawnedRelay;
let receiver: Server;
let port = 0;
let scratch: string;
const notices: Notice[] = [];

async function newClient(agentId: string): Promise<DeadDropClient> {
  const identity = await createIdentity(agentId, {
    home: join(scratch, agentId),
    relayUrl: relay.url,
  });
  const client = new DeadDropClient({ identity });
  await client.register();
  return client;
}

async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      notices.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  port = (receiver.address() as AddressInfo).port;
  [relay, scratch] = await Promise.all([
    spawnRelay({ DEADDROP_WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${port}` }),
    mkdtemp(join(tmpdir(), 'deaddrop-hooks-e2e-')),
  ]);
});

afterAll(async () => {
  await relay.stop();
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => {
    receiver.close(() => {
      resolve();
    });
  });
  await rm(scratch, { recursive: true, force: true });
});

describe('webhooks through the SDK', () => {
  it('sets a hook with a generated secret; the notice verifies with it', async () => {
    const [alice, bob] = await Promise.all([newClient('hook-alice'), newClient('hook-bob')]);
    const url = `http://127.0.0.1:${port}/bob`;
    const set: HookSetting = await bob.setHook(url);
    expect(set.url).toBe(url);
    expect(set.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect((await bob.setHook(url)).secret).not.toBe(set.secret);
    const current = await bob.setHook(url);

    const sent = await alice.sendMessage({ to: 'hook-bob', message: 'wake up' });
    await waitFor(() => notices.some((notice) => notice.body.includes(sent.id)));
    const notice = notices.find((candidate) => candidate.body.includes(sent.id));
    if (notice === undefined) throw new Error('no notice');
    const header = notice.headers[WEBHOOK_SIGNATURE_HEADER];
    expect(
      verifyWebhookNotice({ secret: current.secret, body: notice.body, header: String(header) }),
    ).toMatchObject({ ok: true, notice: { agentId: 'hook-bob', newestId: sent.id } });
    expect(
      verifyWebhookNotice({ secret: set.secret, body: notice.body, header: String(header) }),
    ).toEqual({ ok: false, reason: 'bad-signature' });
    expect(notice.body).not.toContain('wake up');

    expect(await bob.getHook()).toMatchObject({ url, failures: 0, disabled: false });
    expect(await bob.clearHook()).toEqual({ cleared: true });
    expect(await bob.getHook()).toBeNull();
  });

  it('keeps a secret it is given, and reports a refused URL as a typed error', async () => {
    const carol = await newClient('hook-carol');
    const secret = 'c'.repeat(32);
    expect((await carol.setHook(`http://127.0.0.1:${port}/carol`, secret)).secret).toBe(secret);
    await expect(carol.setHook('https://10.0.0.1/hook')).rejects.toMatchObject({
      reason: 'HOOK_URL_REFUSED',
    });
  });
});

// Each CLI run starts a process (about a second, more on a busy machine).
describe('deaddrop hook', { timeout: 90_000 }, () => {
  it('sets (printing a generated secret once), gets and clears, in text and JSON', async () => {
    const home = join(scratch, 'cli');
    const env = { DEADDROP_HOME: home };
    const cli = (args: readonly string[]) => runCliProcess(args, env);
    expect((await cli(['init', 'hook-dave', '--server', relay.url])).code).toBe(0);
    const url = `http://127.0.0.1:${port}/dave`;

    const set = await cli(['hook', 'set', 'hook-dave', url]);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain(`webhook set for hook-dave: ${url}`);
    expect(set.stdout).toMatch(/secret .*: whsec_[A-Za-z0-9_-]{43}\n/);
    expect(set.stderr).not.toContain('whsec_');

    const given = await cli([
      'hook',
      'set',
      'hook-dave',
      url,
      '--secret',
      'd'.repeat(40),
      '--json',
    ]);
    expect(given.code).toBe(0);
    const answer = JSON.parse(given.stdout) as Record<string, unknown>;
    expect(answer).toMatchObject({ url });
    expect(answer).not.toHaveProperty('secret');
    expect(given.stdout).not.toContain('d'.repeat(40));

    const generated = await cli(['hook', 'set', 'hook-dave', url, '--json']);
    expect(JSON.parse(generated.stdout)).toMatchObject({
      url,
      secret: expect.stringMatching(/^whsec_/) as string,
    });

    const got = await cli(['hook', 'get', 'hook-dave', '--json']);
    expect(JSON.parse(got.stdout)).toMatchObject({ url, failures: 0, disabled: false });
    expect(got.stdout).not.toContain('whsec_');
    expect((await cli(['hook', 'get', 'hook-dave'])).stdout).toContain(`url: ${url}`);

    expect(JSON.parse((await cli(['hook', 'clear', 'hook-dave', '--json'])).stdout)).toEqual({
      cleared: true,
    });
    expect((await cli(['hook', 'clear', 'hook-dave'])).stdout).toContain('no webhook was set');
    expect((await cli(['hook', 'get', 'hook-dave'])).stdout).toContain('no webhook set');
  });

  it('refuses a wrong action, a missing url, and --secret outside set', async () => {
    const env = { DEADDROP_HOME: join(scratch, 'cli') };
    for (const args of [
      ['hook', 'ring', 'hook-dave'],
      ['hook', 'set', 'hook-dave'],
      ['hook', 'get', 'hook-dave', 'https://example.com/'],
      ['hook', 'get', 'hook-dave', '--secret', 'x'.repeat(32)],
    ]) {
      const run = await runCliProcess(args, env);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^deaddrop: .*hook/);
    }
  });
});
