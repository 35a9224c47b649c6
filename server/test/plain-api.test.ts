// The plain HTTP API (PROTOCOL §3.8) on real relays, both stores: every procedure of the table is
// served at /v1/<path> with the method its kind takes (found by iterating the table, nothing
// listed by hand), each answers what tRPC answers for the same call — the same output as bare JSON,
// the same error (code, reason, message) with the same HTTP status — and its own refusals (unknown
// paths, wrong methods, unreadable bodies, oversized bodies) come in the same error shape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deriveAgentKeys,
  generatePrekey,
  generateSeed,
  listProcedures,
  randomBytes,
  signRegistration,
  signRotation,
  toB64u,
} from '@deaddrop/contract';
import { maxBodyBytes } from '../src/app.js';
import {
  isPlainError,
  plainCall,
  trpcCall,
  type Headers,
  type Outcome,
} from './support/plain-http.js';
import {
  authHeader,
  makeAgent,
  register,
  seal,
  startTestRelay,
  type StoreKind,
  type TestAgent,
  type TestRelay,
} from './support/relay-harness.js';

const MAX_MESSAGE_BYTES = 4169;
const HOOK_HOST = '127.0.0.1:9';
const ENV = {
  MAX_MESSAGE_SIZE: String(MAX_MESSAGE_BYTES),
  DEADDROP_WEBHOOK_ALLOWED_HOSTS: HOOK_HOST,
};
const ACCESS_KEY = 'plain-api-key-0123456789';

const calls = listProcedures().filter(({ definition }) => definition.kind !== 'subscription');

function idempotencyKey(): string {
  return toB64u(randomBytes(16));
}

/** An envelope whose decoded length is `bytes` (the relay checks only its shape and size). */
function envelopeOf(bytes: number): string {
  const raw = randomBytes(bytes);
  raw[0] = 1;
  return toB64u(raw);
}

function expectOk(outcome: Outcome, context: string): unknown {
  if (!outcome.ok) throw new Error(`${context}: ${JSON.stringify(outcome)}`);
  return outcome.data;
}

describe.each<StoreKind>(['embedded', 'redis'])('the plain HTTP API on the %s store', (kind) => {
  let relay: TestRelay;
  let limited: TestRelay;
  let keyed: TestRelay;
  const alice = makeAgent('alice');
  const bob = makeAgent('bob');
  const gene = makeAgent('gene');

  /** A fresh proof of `agent` for `scope` on the main relay. */
  const proof = (agent: TestAgent, scope: string): Headers =>
    authHeader(relay.relayId, agent, scope);

  /** The same call on both APIs, each with its own fresh headers. */
  const both = async (
    path: string,
    input: unknown,
    headers: () => Headers = () => ({}),
  ): Promise<{ plain: Outcome; trpc: Outcome }> => {
    const trpc = await trpcCall(relay.url, path, input, headers());
    const { outcome: plain } = await plainCall(relay.url, path, input, headers());
    return { plain, trpc };
  };

  beforeAll(async () => {
    [relay, limited, keyed] = await Promise.all([
      startTestRelay(kind, ENV),
      startTestRelay(kind, { RATE_REQUESTS_PER_SECOND: '1', RATE_REQUEST_BURST: '1' }),
      startTestRelay(kind, { DEADDROP_API_KEYS: ACCESS_KEY }),
    ]);
    for (const agent of [alice, bob, gene]) await register(relay.url, relay.relayId, agent);
  });
  afterAll(async () => {
    await Promise.all([relay, limited, keyed].map((running) => running.stop()));
  });

  describe('serves the whole procedure table', () => {
    it.each(listProcedures().map(({ path, definition }) => [path, definition] as const))(
      '%s at /v1/<path>, and 405 with Allow for the other method',
      async (path, definition) => {
        const method = definition.kind === 'mutation' ? 'POST' : 'GET';
        const other = method === 'GET' ? 'POST' : 'GET';
        const input = definition.input === undefined ? undefined : {};
        const served = await plainCall(relay.url, path, input, {}, method);
        expect(served.response.status, path).not.toBe(404);
        expect(served.response.status, path).not.toBe(405);
        const refused = await plainCall(relay.url, path, input, {}, other);
        expect(refused.outcome).toMatchObject({
          status: 405,
          error: { code: 'METHOD_NOT_SUPPORTED', reason: 'METHOD_NOT_ALLOWED' },
        });
        expect(refused.response.headers.get('allow')).toBe(method);
      },
    );
  });

  describe('answers as tRPC answers', () => {
    it.each(calls.map(({ path }) => path))(
      '%s without credentials and with an empty input',
      async (path) => {
        const definition = calls.find((call) => call.path === path)?.definition;
        const input = definition?.input === undefined ? undefined : {};
        const { plain, trpc } = await both(path, input);
        expect(plain).toEqual(trpc);
      },
    );

    it.each(calls.map(({ path }) => path))(
      '%s with a good proof and an empty input',
      async (path) => {
        const definition = calls.find((call) => call.path === path)?.definition;
        const input = definition?.input === undefined ? undefined : {};
        const { plain, trpc } = await both(path, input, () => proof(gene, path));
        expect(plain).toEqual(trpc);
      },
    );

    /**
     * One successful use of each procedure, on both APIs in turn; where a call changes the relay
     * the two are made to agree (the same idempotency key, the same signed registration) or their
     * answers are checked against each other's effects.
     */
    const scenarios: Readonly<Record<string, () => Promise<void>>> = {
      info: async () => {
        const { plain, trpc } = await both('info', undefined);
        expect(expectOk(plain, 'info')).toEqual(expectOk(trpc, 'info'));
      },
      'directory.register': async () => {
        const agent = makeAgent('reg-both');
        const input = signRegistration({
          relayId: relay.relayId,
          agentId: agent.agentId,
          keys: agent.keys,
        });
        const { plain, trpc } = await both('directory.register', input);
        expect(expectOk(plain, 'register')).toEqual(expectOk(trpc, 'register'));
      },
      'directory.lookup': async () => {
        const { plain, trpc } = await both('directory.lookup', { agentId: 'alice' });
        expect(expectOk(plain, 'lookup')).toMatchObject({ agentId: 'alice', rotations: [] });
        expect(plain).toEqual(trpc);
      },
      'directory.rotate': async () => {
        const agent = makeAgent('rot-both');
        await register(relay.url, relay.relayId, agent);
        const newKeys = deriveAgentKeys(generateSeed());
        const step = signRotation({
          relayId: relay.relayId,
          agentId: agent.agentId,
          oldKeys: agent.keys,
          newKeys,
        });
        const input = {
          agentId: agent.agentId,
          newKey: step.newKey,
          ts: step.ts,
          sigOld: step.sigOld,
          sigNew: step.sigNew,
        };
        const rotated = await plainCall(relay.url, 'directory.rotate', input);
        const lookup = await trpcCall(relay.url, 'directory.lookup', { agentId: agent.agentId });
        expect(expectOk(rotated.outcome, 'rotate')).toEqual(expectOk(lookup, 'lookup'));
        expect(lookup).toMatchObject({ data: { agentKey: newKeys.agentKey } });
        // The same statement again is refused, alike on both.
        const { plain, trpc } = await both('directory.rotate', input);
        expect(plain.ok).toBe(false);
        expect(plain).toEqual(trpc);
      },
      'directory.publishPrekeys': async () => {
        const agent = makeAgent('pk-publish');
        await register(relay.url, relay.relayId, agent);
        const batch = () => ({
          prekeys: [1, 2].map(() => generatePrekey(agent.agentId, agent.keys).prekey),
        });
        const first = batch();
        const second = batch();
        const viaTrpc = await trpcCall(
          relay.url,
          'directory.publishPrekeys',
          first,
          proof(agent, 'directory.publishPrekeys'),
        );
        const viaPlain = await plainCall(
          relay.url,
          'directory.publishPrekeys',
          second,
          proof(agent, 'directory.publishPrekeys'),
        );
        expect(viaTrpc).toEqual({ status: 200, ok: true, data: { stored: 2, total: 2 } });
        expect(viaPlain.outcome).toEqual({ status: 200, ok: true, data: { stored: 2, total: 4 } });
        const { plain, trpc } = await both('directory.publishPrekeys', second, () =>
          proof(agent, 'directory.publishPrekeys'),
        );
        expect(plain).toMatchObject({ status: 400, error: { reason: 'PREKEY_DUPLICATE' } });
        expect(plain).toEqual(trpc);
      },
      'directory.claimPrekey': async () => {
        const agent = makeAgent('pk-claim');
        await register(relay.url, relay.relayId, agent);
        const published = [1, 2, 3].map(() => generatePrekey(agent.agentId, agent.keys).prekey);
        await plainCall(
          relay.url,
          'directory.publishPrekeys',
          { prekeys: published },
          proof(agent, 'directory.publishPrekeys'),
        );
        const input = { agentId: agent.agentId };
        const { plain, trpc } = await both('directory.claimPrekey', input);
        // Oldest first: tRPC's call took the first, the plain one the second.
        expect(trpc).toEqual({
          status: 200,
          ok: true,
          data: { prekey: published[0], remaining: 2 },
        });
        expect(plain).toEqual({
          status: 200,
          ok: true,
          data: { prekey: published[1], remaining: 1 },
        });
      },
      send: async () => {
        const key = idempotencyKey();
        const input = { to: 'bob', ciphertext: seal(alice, bob, 'send'), idempotencyKey: key };
        const { plain, trpc } = await both('send', input);
        const stored = expectOk(trpc, 'send') as { duplicate: boolean };
        expect(stored.duplicate).toBe(false);
        expect(expectOk(plain, 'send')).toEqual({ ...stored, duplicate: true });
        // The other way round: the plain API stores, tRPC answers the duplicate.
        const again = { ...input, idempotencyKey: idempotencyKey() };
        const first = await plainCall(relay.url, 'send', again);
        const second = await trpcCall(relay.url, 'send', again);
        expect(expectOk(second, 'send')).toEqual({
          ...(expectOk(first.outcome, 'send') as object),
          duplicate: true,
        });
      },
      sendMany: async () => {
        const input = {
          items: [alice, bob].map((to) => ({
            to: to.agentId,
            ciphertext: seal(gene, to, 'group'),
            idempotencyKey: idempotencyKey(),
          })),
        };
        const first = await plainCall(relay.url, 'sendMany', input);
        const second = await trpcCall(relay.url, 'sendMany', input);
        const stored = expectOk(first.outcome, 'sendMany') as {
          results: { ok: boolean; duplicate?: boolean }[];
        };
        expect(stored.results.map((result) => result.ok)).toEqual([true, true]);
        expect(expectOk(second, 'sendMany')).toEqual({
          results: stored.results.map((result) => ({ ...result, duplicate: true })),
        });
      },
      poll: async () => {
        const agent = makeAgent('poller');
        await register(relay.url, relay.relayId, agent);
        for (const body of ['one', 'two', 'three'])
          await plainCall(relay.url, 'send', {
            to: agent.agentId,
            ciphertext: seal(alice, agent, body),
          });
        const input = { after: '0-0', limit: 2, waitMs: 0 };
        const { plain, trpc } = await both('poll', input, () => proof(agent, 'poll'));
        expect(plain).toEqual(trpc);
        const page = expectOk(plain, 'poll') as { messages: unknown[]; cursor: string };
        expect(page.messages).toHaveLength(2);
        // A long-poll on the plain API: held until a message arrives.
        const cursor = (
          expectOk(
            (await plainCall(relay.url, 'poll', { after: page.cursor }, proof(agent, 'poll')))
              .outcome,
            'poll',
          ) as { cursor: string }
        ).cursor;
        const waiting = plainCall(
          relay.url,
          'poll',
          { after: cursor, waitMs: 10_000 },
          proof(agent, 'poll'),
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
        const sent = await trpcCall(relay.url, 'send', {
          to: agent.agentId,
          ciphertext: seal(alice, agent, 'late'),
        });
        const held = expectOk((await waiting).outcome, 'poll') as { messages: { id: string }[] };
        expect(held.messages.map((message) => message.id)).toEqual([
          (expectOk(sent, 'send') as { id: string }).id,
        ]);
      },
      stats: async () => {
        const { plain, trpc } = await both('stats', undefined, () => proof(bob, 'stats'));
        expect(expectOk(plain, 'stats')).toMatchObject({ agentId: 'bob' });
        expect(plain).toEqual(trpc);
      },
      delete: async () => {
        const agent = makeAgent('deleter');
        await register(relay.url, relay.relayId, agent);
        const ids: string[] = [];
        for (const body of ['a', 'b']) {
          const sent = await trpcCall(relay.url, 'send', {
            to: agent.agentId,
            ciphertext: seal(alice, agent, body),
          });
          ids.push((expectOk(sent, 'send') as { id: string }).id);
        }
        const viaTrpc = await trpcCall(
          relay.url,
          'delete',
          { ids: [ids[0]] },
          proof(agent, 'delete'),
        );
        const viaPlain = await plainCall(
          relay.url,
          'delete',
          { ids: [ids[1]] },
          proof(agent, 'delete'),
        );
        expect(viaTrpc).toEqual({ status: 200, ok: true, data: { deleted: 1 } });
        expect(viaPlain.outcome).toEqual(viaTrpc);
        const { plain, trpc } = await both('delete', { ids }, () => proof(agent, 'delete'));
        expect(plain).toEqual({ status: 200, ok: true, data: { deleted: 0 } });
        expect(plain).toEqual(trpc);
      },
      'hooks.set': async () => {
        const agent = makeAgent('hook-set');
        await register(relay.url, relay.relayId, agent);
        const secret = 's'.repeat(32);
        const viaTrpc = await trpcCall(
          relay.url,
          'hooks.set',
          { url: `http://${HOOK_HOST}/one`, secret },
          proof(agent, 'hooks.set'),
        );
        const viaPlain = await plainCall(
          relay.url,
          'hooks.set',
          { url: `http://${HOOK_HOST}/two`, secret },
          proof(agent, 'hooks.set'),
        );
        expect(viaTrpc).toMatchObject({ ok: true, data: { url: `http://${HOOK_HOST}/one` } });
        expect(viaPlain.outcome).toMatchObject({
          ok: true,
          data: { url: `http://${HOOK_HOST}/two` },
        });
        const { plain, trpc } = await both('hooks.get', undefined, () => proof(agent, 'hooks.get'));
        expect(plain).toMatchObject({ ok: true, data: { url: `http://${HOOK_HOST}/two` } });
        expect(plain).toEqual(trpc);
        const refused = await both('hooks.set', { url: 'http://10.0.0.1/x', secret }, () =>
          proof(agent, 'hooks.set'),
        );
        expect(refused.plain).toMatchObject({ status: 400, error: { reason: 'HOOK_URL_REFUSED' } });
        expect(refused.plain).toEqual(refused.trpc);
      },
      'hooks.get': async () => {
        const { plain, trpc } = await both('hooks.get', undefined, () => proof(alice, 'hooks.get'));
        expect(plain).toEqual({ status: 200, ok: true, data: null });
        expect(plain).toEqual(trpc);
      },
      'hooks.clear': async () => {
        const agent = makeAgent('hook-clear');
        await register(relay.url, relay.relayId, agent);
        await plainCall(
          relay.url,
          'hooks.set',
          { url: `http://${HOOK_HOST}/x`, secret: 'c'.repeat(32) },
          proof(agent, 'hooks.set'),
        );
        const viaPlain = await plainCall(
          relay.url,
          'hooks.clear',
          undefined,
          proof(agent, 'hooks.clear'),
        );
        const viaTrpc = await trpcCall(
          relay.url,
          'hooks.clear',
          undefined,
          proof(agent, 'hooks.clear'),
        );
        expect(viaPlain.outcome).toEqual({ status: 200, ok: true, data: { cleared: true } });
        expect(viaTrpc).toEqual({ status: 200, ok: true, data: { cleared: false } });
      },
    };

    it('has a success scenario for every query and mutation of the table', () => {
      expect(calls.map(({ path }) => path).filter((path) => !(path in scenarios))).toEqual([]);
    });

    it.each(Object.keys(scenarios))('%s succeeding', async (path) => {
      await scenarios[path]?.();
    });
  });

  describe('refuses as tRPC refuses, in the plain error shape', () => {
    it('401 for a proof that does not verify, or is used again', async () => {
      const forged = () => authHeader(relay.relayId, alice, 'stats', { agentId: 'bob' });
      const { plain, trpc } = await both('stats', undefined, forged);
      expect(plain).toMatchObject({
        status: 401,
        error: { code: 'UNAUTHORIZED', reason: 'AUTH_BAD_SIGNATURE' },
      });
      expect(plain).toEqual(trpc);
      const headers = proof(bob, 'stats');
      expect((await plainCall(relay.url, 'stats', undefined, headers)).outcome.status).toBe(200);
      expect((await plainCall(relay.url, 'stats', undefined, headers)).outcome).toMatchObject({
        status: 401,
        error: { reason: 'AUTH_REPLAYED' },
      });
    });

    it('404 for an agent nobody registered', async () => {
      const lookup = await both('directory.lookup', { agentId: 'carol' });
      expect(lookup.plain).toEqual({
        status: 404,
        ok: false,
        error: {
          code: 'NOT_FOUND',
          reason: 'AGENT_NOT_FOUND',
          message: 'no agent is registered under that id: "carol"',
        },
      });
      expect(lookup.plain).toEqual(lookup.trpc);
      const send = await both('send', { to: 'carol', ciphertext: seal(alice, bob) });
      expect(send.plain).toMatchObject({ status: 404, error: { reason: 'AGENT_NOT_FOUND' } });
      expect(send.plain).toEqual(send.trpc);
    });

    it('413 for an envelope over the limit, and for a body over the relay’s, unread', async () => {
      const { plain, trpc } = await both('send', {
        to: 'bob',
        ciphertext: envelopeOf(MAX_MESSAGE_BYTES + 1),
      });
      expect(plain).toMatchObject({
        status: 413,
        error: { code: 'PAYLOAD_TOO_LARGE', reason: 'MESSAGE_TOO_LARGE' },
      });
      expect(plain).toEqual(trpc);
      const limit = maxBodyBytes(relay.services.limits);
      const huge = JSON.stringify({ to: 'bob', ciphertext: 'A'.repeat(limit) });
      const response = await fetch(`${relay.url}/v1/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: huge,
      });
      expect(response.status).toBe(413);
      expect(response.headers.get('connection')).toBe('close');
      expect(await response.json()).toEqual({
        error: {
          code: 'PAYLOAD_TOO_LARGE',
          reason: 'MESSAGE_TOO_LARGE',
          message: `message is larger than the relay accepts: the request body is larger than ${limit} bytes`,
        },
      });
    });

    it('429 with retryAfterMs and Retry-After once the address is over its rate', async () => {
      const refusedOn = async (call: () => Promise<Outcome>): Promise<Outcome> => {
        // One token a second: the second call of a pair is refused.
        await new Promise((resolve) => setTimeout(resolve, 1_100));
        await call();
        return call();
      };
      let retryAfter: string | null = null;
      const plain = await refusedOn(async () => {
        const answer = await plainCall(limited.url, 'info', undefined);
        retryAfter = answer.response.headers.get('retry-after');
        return answer.outcome;
      });
      const trpc = await refusedOn(() => trpcCall(limited.url, 'info', undefined));
      expect(plain).toMatchObject({
        status: 429,
        error: { code: 'TOO_MANY_REQUESTS', reason: 'RATE_LIMITED' },
      });
      expect(retryAfter).toBe('1');
      const wait = plain.ok ? 0 : (plain.error.retryAfterMs ?? 0);
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(1_000);
      expect(trpc.ok ? null : trpc.error.retryAfterMs).toEqual(expect.any(Number));
      expect({ ...plain, error: { ...(plain.ok ? {} : plain.error), retryAfterMs: 0 } }).toEqual({
        ...trpc,
        error: { ...(trpc.ok ? {} : trpc.error), retryAfterMs: 0 },
      });
    });

    it('400 for input that fails the schema, naming the field', async () => {
      const limit = await plainCall(relay.url, 'poll', { limit: 'abc' }, proof(bob, 'poll'));
      expect(limit.outcome).toEqual({
        status: 400,
        ok: false,
        error: {
          code: 'BAD_REQUEST',
          reason: 'BAD_INPUT',
          message: 'invalid input: limit: Invalid input: expected number, received string',
        },
      });
      const { plain, trpc } = await both('send', { to: 'bob', ciphertext: 'AAAA' });
      expect(plain).toMatchObject({
        status: 400,
        error: {
          reason: 'BAD_CIPHERTEXT',
          message: expect.stringContaining('ciphertext') as unknown,
        },
      });
      expect(plain).toEqual(trpc);
      const many = await both('delete', { ids: ['x'] }, () => proof(bob, 'delete'));
      expect(many.plain).toMatchObject({
        status: 400,
        error: { message: expect.stringContaining('ids.0') as unknown },
      });
      expect(many.plain).toEqual(many.trpc);
    });

    it('400 for a body that is not JSON, after the proof as under tRPC', async () => {
      const post = (path: string, headers: Headers = {}) =>
        fetch(`${relay.url}/v1/${path}`, { method: 'POST', body: '{"to":', headers });
      const unreadable = await post('send');
      expect(unreadable.status).toBe(400);
      expect(await unreadable.json()).toEqual({
        error: {
          code: 'BAD_REQUEST',
          reason: 'BAD_INPUT',
          message: 'invalid input: the request body is not JSON',
        },
      });
      // A mailbox call checks its proof before it reads its input.
      const unproven = await post('delete');
      expect(unproven.status).toBe(401);
      expect(await unproven.json()).toMatchObject({ error: { reason: 'AUTH_MISSING' } });
      // Any content type: the body is JSON whatever the header says (curl -d sends a form's).
      const form = await post('send', { 'content-type': 'application/x-www-form-urlencoded' });
      expect(form.status).toBe(400);
    });

    it('404 for a path that names no procedure, 405 with Allow for a method the route does not take', async () => {
      for (const target of [
        '/v1',
        '/v1/',
        '/v1/nope',
        '/v1/directory',
        '/v1/info/',
        '/v1/%69nfo',
      ]) {
        const response = await fetch(`${relay.url}${target}`);
        expect(response.status, target).toBe(404);
        const body: unknown = await response.json();
        expect(isPlainError(body), target).toBe(true);
        expect(body).toMatchObject({ error: { code: 'NOT_FOUND', reason: 'UNKNOWN_PROCEDURE' } });
      }
      for (const [method, path, allow] of [
        ['HEAD', 'info', 'GET'],
        ['PUT', 'send', 'POST'],
        ['DELETE', 'delete', 'POST'],
        ['POST', 'inbox', 'GET'],
      ] as const) {
        const response = await fetch(`${relay.url}/v1/${path}`, { method });
        expect(response.status, `${method} ${path}`).toBe(405);
        expect(response.headers.get('allow')).toBe(allow);
      }
    });

    it('counts its calls in the relay’s metrics as tRPC’s', async () => {
      const count = async (): Promise<number> => {
        const text = await (await fetch(`${relay.url}/metrics`)).text();
        const line = text
          .split('\n')
          .find((row) =>
            row.startsWith(
              'deaddrop_requests_total{procedure="directory.lookup",code="NOT_FOUND"}',
            ),
          );
        return Number(line?.split(' ').at(-1) ?? 0);
      };
      const before = await count();
      await plainCall(relay.url, 'directory.lookup', { agentId: 'nobody' });
      expect(await count()).toBe(before + 1);
    });

    it('asks for the relay’s access key where tRPC does, and never for info', async () => {
      const info = await plainCall(keyed.url, 'info', undefined);
      expect(info.outcome.status).toBe(200);
      const bare = await plainCall(keyed.url, 'directory.lookup', { agentId: 'bob' });
      const trpc = await trpcCall(keyed.url, 'directory.lookup', { agentId: 'bob' });
      expect(bare.outcome).toMatchObject({ status: 401, error: { reason: 'API_KEY_INVALID' } });
      expect(bare.outcome).toEqual(trpc);
      const withKey = await plainCall(
        keyed.url,
        'directory.lookup',
        { agentId: 'bob' },
        { 'x-deaddrop-api-key': ACCESS_KEY },
      );
      expect(withKey.outcome).toMatchObject({ status: 404, error: { reason: 'AGENT_NOT_FOUND' } });
      const stream = await fetch(`${keyed.url}/v1/inbox`);
      expect(stream.status).toBe(401);
      expect(await stream.json()).toMatchObject({ error: { reason: 'API_KEY_INVALID' } });
    });
  });
});
