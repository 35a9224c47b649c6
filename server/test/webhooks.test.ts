// Wake-up webhooks end to end (PROTOCOL §9), on both stores: a loopback receiver (allow-listed by
// host:port) gets signed, content-free notices; bursts coalesce; 5xx are retried; a failing hook is
// disabled at the cap; private addresses are refused at set time and at send time; a redirect is
// not followed.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhookNotice, type WebhookNotice } from '@deaddrop/contract';
import type { Resolver } from '../src/webhooks/hook-target.js';
import { systemResolver } from '../src/webhooks/hook-target.js';
import {
  makeAgent,
  mailboxClient,
  rawClient,
  register,
  rejection,
  seal,
  startTestRelay,
  type StoreKind,
  type TestAgent,
  type TestRelay,
} from './support/relay-harness.js';

const SECRET = 'webhook-test-secret-0123456789abcdef';
const MIN_INTERVAL_MS = 250;

interface Received {
  readonly path: string;
  readonly at: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** A receiver on an ephemeral loopback port; each path answers with its scripted statuses. */
class Receiver {
  readonly requests: Received[] = [];
  private readonly scripts = new Map<string, number[]>();
  /** Paths whose answer comes this late. */
  readonly delays = new Map<string, number>();
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const path = req.url ?? '';
        this.requests.push({
          path,
          at: Date.now(),
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        const status = this.scripts.get(path)?.shift() ?? 204;
        if (status === 302) res.setHeader('location', `${path}/moved`);
        setTimeout(
          () => {
            res.writeHead(status).end(status >= 400 ? 'x'.repeat(4096) : '');
          },
          this.delays.get(path) ?? 0,
        );
      });
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  answer(path: string, statuses: number[]): void {
    this.scripts.set(path, statuses);
  }

  at(path: string): Received[] {
    return this.requests.filter((request) => request.path.startsWith(path));
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  }
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Names the test points at private addresses, as a rebinding DNS server would.
const testResolver: Resolver = (hostname) => {
  const pinned = new Map<string, string>([
    ['loopback.rebind.test', '127.0.0.1'],
    ['private.rebind.test', '10.1.2.3'],
    ['v6.rebind.test', '::1'],
    ['metadata.rebind.test', '169.254.169.254'],
  ]).get(hostname);
  if (pinned === undefined) return systemResolver(hostname);
  return Promise.resolve([{ address: pinned, family: pinned.includes(':') ? 6 : 4 }]);
};

describe.each<StoreKind>(['embedded', 'redis'])('webhooks (%s store)', (kind) => {
  const receiver = new Receiver();
  let relay: TestRelay;
  let sender: TestAgent;
  let counter = 0;

  beforeAll(async () => {
    await receiver.start();
    relay = await startTestRelay(
      kind,
      { DEADDROP_WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${receiver.port}` },
      {
        webhookTiming: {
          minIntervalMs: MIN_INTERVAL_MS,
          backoffBaseMs: 20,
          backoffMaxMs: 60,
          failureCap: 3,
        },
        webhookResolver: testResolver,
      },
    );
    sender = makeAgent(`hook-sender-${kind}-${process.pid}`);
    await register(relay.url, relay.relayId, sender);
  });

  afterAll(async () => {
    await relay.stop();
    await receiver.stop();
  });

  async function newMailbox() {
    const agent = makeAgent(`hook-${kind}-${process.pid}-${Date.now()}-${counter++}`);
    await register(relay.url, relay.relayId, agent);
    const path = `/hook/${agent.agentId}`;
    const hooks = {
      set: (url: string, secret = SECRET) =>
        mailboxClient(relay.url, relay.relayId, agent, 'hooks.set').hooks.set.mutate({
          url,
          secret,
        }),
      get: () => mailboxClient(relay.url, relay.relayId, agent, 'hooks.get').hooks.get.query(),
      clear: () =>
        mailboxClient(relay.url, relay.relayId, agent, 'hooks.clear').hooks.clear.mutate(),
    };
    const send = () =>
      rawClient(relay.url).send.mutate({ to: agent.agentId, ciphertext: seal(sender, agent) });
    return { agent, path, hooks, send };
  }

  it('posts a signed notice without content, which the contract helper verifies', async () => {
    const { agent, path, hooks, send } = await newMailbox();
    expect(await hooks.get()).toBeNull();
    const set = await hooks.set(receiver.url(path));
    expect(set.url).toBe(receiver.url(path));

    const sent = await send();
    await waitFor(() => receiver.at(path).length === 1);
    const [notice] = receiver.at(path);
    if (notice === undefined) throw new Error('no notice');
    expect(notice.headers['content-type']).toBe('application/json');
    const verified = verifyWebhookNotice({
      secret: SECRET,
      body: notice.body,
      header: notice.headers['x-deaddrop-signature'] as string,
    });
    expect(verified).toEqual({
      ok: true,
      notice: {
        agentId: agent.agentId,
        relayId: relay.relayId,
        newestId: sent.id,
        ts: expect.any(Number) as number,
      } satisfies WebhookNotice,
    });
    expect(Object.keys(JSON.parse(notice.body) as object).sort()).toEqual([
      'agentId',
      'newestId',
      'relayId',
      'ts',
    ]);
    expect(
      verifyWebhookNotice({
        secret: `${SECRET}-other`,
        body: notice.body,
        header: notice.headers['x-deaddrop-signature'] as string,
      }).ok,
    ).toBe(false);

    await waitFor(async () => (await hooks.get())?.lastStatus === 204);
    expect(await hooks.get()).toEqual({
      url: receiver.url(path),
      createdAt: set.createdAt,
      lastDeliveryAt: expect.any(Number) as number,
      lastStatus: 204,
      failures: 0,
      disabled: false,
    });
    const metrics = await relay.services.metrics.scrape();
    expect(metrics).toMatch(/deaddrop_webhook_notices_total\{outcome="sent"\} [1-9]/);
  });

  it('answers send before the notice leaves: a slow receiver adds no latency', async () => {
    const { path, hooks, send } = await newMailbox();
    receiver.delays.set(path, 1_500);
    await hooks.set(receiver.url(path));
    const started = performance.now();
    await send();
    expect(performance.now() - started).toBeLessThan(500);
    await waitFor(() => receiver.at(path).length === 1);
  });

  it('coalesces a burst of 50 sends into few notices, the newest id last', async () => {
    const { path, hooks, send } = await newMailbox();
    await hooks.set(receiver.url(path));
    const ids: string[] = [];
    for (let i = 0; i < 50; i += 1) ids.push((await send()).id);
    const newest = ids.at(-1);
    await waitFor(() =>
      receiver.at(path).some((r) => (JSON.parse(r.body) as WebhookNotice).newestId === newest),
    );
    await sleep(MIN_INTERVAL_MS * 2);
    const notices = receiver.at(path);
    expect(notices.length).toBeLessThanOrEqual(10);
    expect((JSON.parse(notices.at(-1)?.body ?? '{}') as WebhookNotice).newestId).toBe(newest);
    // One per interval at most (a little slack for timer granularity).
    for (let i = 1; i < notices.length; i += 1)
      expect((notices[i]?.at ?? 0) - (notices[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(
        MIN_INTERVAL_MS - 20,
      );
  });

  it('keeps one notice per interval when mail comes just slower than notices leave', async () => {
    const { path, hooks, send } = await newMailbox();
    await hooks.set(receiver.url(path));
    // A send each time the previous notice has landed: nothing is ever coalesced in flight, so
    // only the interval itself spaces them.
    for (let i = 0; i < 4; i += 1) {
      await send();
      await waitFor(() => receiver.at(path).length === i + 1);
    }
    const notices = receiver.at(path);
    for (let i = 1; i < notices.length; i += 1)
      expect((notices[i]?.at ?? 0) - (notices[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(
        MIN_INTERVAL_MS - 20,
      );
  });

  it('retries after a 500 and a 429 (under the cap of 3), then delivers', async () => {
    const { path, hooks, send } = await newMailbox();
    receiver.answer(path, [500, 429, 200]);
    await hooks.set(receiver.url(path));
    const sent = await send();
    await waitFor(() => receiver.at(path).length === 3);
    const bodies = receiver.at(path).map((r) => JSON.parse(r.body) as WebhookNotice);
    expect(bodies.every((body) => body.newestId === sent.id)).toBe(true);
    await waitFor(async () => (await hooks.get())?.lastStatus === 200);
    expect(await hooks.get()).toMatchObject({ failures: 0, disabled: false });
  });

  it('disables the hook after the failure cap, until it is set again', async () => {
    const { path, hooks, send } = await newMailbox();
    receiver.answer(path, [500, 500, 500, 500, 500, 500]);
    await hooks.set(receiver.url(path));
    await send();
    await waitFor(async () => (await hooks.get())?.disabled === true);
    expect(await hooks.get()).toMatchObject({ failures: 3, lastStatus: 500, disabled: true });
    expect(receiver.at(path)).toHaveLength(3);
    await send();
    await sleep(MIN_INTERVAL_MS * 2);
    expect(receiver.at(path)).toHaveLength(3);

    receiver.answer(path, []);
    await hooks.set(receiver.url(path));
    expect(await hooks.get()).toMatchObject({ failures: 0, disabled: false });
    await send();
    await waitFor(() => receiver.at(path).length === 4);
  });

  it('drops a notice answered 4xx without retrying it', async () => {
    const { path, hooks, send } = await newMailbox();
    receiver.answer(path, [404]);
    await hooks.set(receiver.url(path));
    await send();
    await waitFor(async () => (await hooks.get())?.lastStatus === 404);
    await sleep(200);
    expect(receiver.at(path)).toHaveLength(1);
    expect(await hooks.get()).toMatchObject({ failures: 1, disabled: false });
  });

  it('does not follow a redirect: a 302 is a failure', async () => {
    const { path, hooks, send } = await newMailbox();
    receiver.answer(path, [302]);
    await hooks.set(receiver.url(path));
    await send();
    await waitFor(async () => (await hooks.get())?.lastStatus === 302);
    await sleep(200);
    expect(receiver.at(path).map((r) => r.path)).toEqual([path]);
    expect(await hooks.get()).toMatchObject({ failures: 1 });
  });

  it.each([
    'https://127.0.0.1/hook',
    'https://10.1.2.3/hook',
    'https://[::1]/hook',
    'https://169.254.169.254/latest/meta-data',
    'https://[::ffff:127.0.0.1]/hook',
    'https://localhost/hook',
    'http://hooks.example.com/hook',
    'http://127.0.0.1:1/hook',
  ])('refuses %s at set time without the allow-list', async (url) => {
    const { hooks } = await newMailbox();
    expect(await rejection(hooks.set(url))).toMatchObject({
      code: 'BAD_REQUEST',
      reason: 'HOOK_URL_REFUSED',
    });
    expect(await hooks.get()).toBeNull();
  });

  it.each([
    'loopback.rebind.test',
    'private.rebind.test',
    'v6.rebind.test',
    'metadata.rebind.test',
  ])('refuses at send time a host resolving to a private address (%s)', async (host) => {
    const { hooks, send } = await newMailbox();
    const before = receiver.requests.length;
    await hooks.set(`https://${host}:${receiver.port}/hook`);
    await send();
    await waitFor(async () => (await hooks.get())?.failures === 1);
    expect(await hooks.get()).toMatchObject({ lastStatus: null, failures: 1 });
    expect(receiver.requests.length).toBe(before);
  });

  it('stops notices once the hook is cleared', async () => {
    const { path, hooks, send } = await newMailbox();
    await hooks.set(receiver.url(path));
    await send();
    await waitFor(() => receiver.at(path).length === 1);
    expect(await hooks.clear()).toEqual({ cleared: true });
    expect(await hooks.clear()).toEqual({ cleared: false });
    expect(await hooks.get()).toBeNull();
    await send();
    await sleep(MIN_INTERVAL_MS * 2);
    expect(receiver.at(path)).toHaveLength(1);
  });

  it('requires a mailbox proof for all three procedures', async () => {
    const { agent } = await newMailbox();
    const anonymous = rawClient(relay.url);
    for (const call of [
      anonymous.hooks.set.mutate({ url: 'https://hooks.example.com/', secret: SECRET }),
      anonymous.hooks.get.query(),
      anonymous.hooks.clear.mutate(),
    ])
      expect(await rejection(call)).toMatchObject({ code: 'UNAUTHORIZED' });
    // A proof for another procedure does not cover these.
    const wrongScope = mailboxClient(relay.url, relay.relayId, agent, 'poll');
    expect(await rejection(wrongScope.hooks.get.query())).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('refuses a bad secret', async () => {
    const { hooks, path } = await newMailbox();
    expect(await rejection(hooks.set(receiver.url(path), 'short'))).toMatchObject({
      code: 'BAD_REQUEST',
    });
  });
});

describe('webhooks turned off', () => {
  it('refuses hooks.set with FORBIDDEN', async () => {
    const relay = await startTestRelay('embedded', { DEADDROP_WEBHOOKS: 'off' });
    try {
      const agent = makeAgent(`hook-off-${process.pid}-${Date.now()}`);
      await register(relay.url, relay.relayId, agent);
      const client = mailboxClient(relay.url, relay.relayId, agent, 'hooks.set');
      expect(
        await rejection(
          client.hooks.set.mutate({ url: 'https://hooks.example.com/', secret: SECRET }),
        ),
      ).toMatchObject({ code: 'FORBIDDEN', reason: 'WEBHOOKS_OFF' });
    } finally {
      await relay.stop();
    }
  });
});
