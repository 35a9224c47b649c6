// The direct caller (server/src/direct-calls.ts) against tRPC's own callTRPCProcedure over the same
// router, call by call: the same answer or the same error shape, and the same metrics, for every
// query and mutation — refused for its access key, for a missing proof, for a bad input, during a
// store outage, for an output that breaks the contract — and for paths tRPC does not serve that
// way. Over HTTP, server/test/procedure-lane.test.ts compares whole answers.
import { describe, expect, it } from 'vitest';
import { TRPCError, callTRPCProcedure } from '@trpc/server';
import { listProcedures, type ProcedureKind, type RequestContext } from '@deaddrop/contract';
import type { RelayMetrics } from '../src/metrics/relay-metrics.js';
import { relayErrorShape } from '../src/relay-error.js';
import { createRelayProcedures } from '../src/router.js';
import type { RelayServices } from '../src/services.js';
import { StoreUnavailableError, type MailboxStore } from '../src/store/mailbox-store.js';
import { routerTestServices } from './support/router-services.js';

type Outcome =
  | { readonly ok: true; readonly data: unknown }
  | { readonly ok: false; readonly shape: unknown; readonly cause: string | undefined };

interface Measured {
  readonly path: string;
  readonly code: string;
}

/** Services whose procedure metrics are recorded into `measured`. */
function recording(services: RelayServices, measured: Measured[]): RelayServices {
  const metrics: RelayMetrics = {
    ...services.metrics,
    procedureCalled(path, code) {
      measured.push({ path, code });
    },
  };
  return { ...services, metrics };
}

interface CallCase {
  readonly path: string;
  readonly type: ProcedureKind;
  readonly input: () => Promise<unknown>;
  readonly apiKey?: string;
}

/** The same call through both, each on its own services (their metrics recorded apart). */
async function bothWays(
  base: RelayServices,
  call: CallCase,
): Promise<{ trpc: Outcome; direct: Outcome; trpcMetrics: Measured[]; directMetrics: Measured[] }> {
  const trpcMetrics: Measured[] = [];
  const directMetrics: Measured[] = [];
  const viaTrpc = createRelayProcedures(recording(base, trpcMetrics));
  const viaDirect = createRelayProcedures(recording(base, directMetrics));
  const ctx = (): RequestContext => ({
    authorization: undefined,
    apiKey: call.apiKey,
    paths: [call.path],
    transport: 'http',
    clientIp: '192.0.2.1',
  });
  const settle = (work: Promise<unknown>): Promise<Outcome> =>
    work.then(
      (data): Outcome => ({ ok: true, data }),
      (error: unknown): Outcome => {
        if (!(error instanceof TRPCError)) throw error;
        return {
          ok: false,
          shape: relayErrorShape(error, call.path),
          cause: error.cause?.constructor.name,
        };
      },
    );
  const trpc = await settle(
    callTRPCProcedure({
      router: viaTrpc.router,
      path: call.path,
      getRawInput: call.input,
      ctx: ctx(),
      type: call.type,
      signal: undefined,
      batchIndex: 0,
    }),
  );
  const direct = await settle(
    viaDirect.call({
      path: call.path,
      type: call.type === 'query' ? 'query' : 'mutation',
      ctx: ctx(),
      rawInput: call.input,
      signal: undefined,
    }),
  );
  return { trpc, direct, trpcMetrics, directMetrics };
}

const callable = listProcedures().filter(({ definition }) => definition.kind !== 'subscription');
const unreachable = (): Promise<unknown> => Promise.reject(new Error('input read'));

/** A store whose every method fails as a store outage does. */
const downStore = new Proxy({} as MailboxStore, {
  get: () => () => Promise.reject(new StoreUnavailableError('store away')),
});

describe('the direct caller against callTRPCProcedure', () => {
  const services = routerTestServices({} as MailboxStore, ['k']);

  it.each(callable)(
    '$path: the same refusal without the access key',
    async ({ path, definition }) => {
      const { trpc, direct, trpcMetrics, directMetrics } = await bothWays(services, {
        path,
        type: definition.kind,
        input: () => Promise.resolve(undefined),
      });
      expect(direct).toEqual(trpc);
      expect(directMetrics).toEqual(trpcMetrics);
      expect(directMetrics).toHaveLength(1);
    },
  );

  it.each(callable)(
    '$path: the same answer with the key and no proof',
    async ({ path, definition }) => {
      const { trpc, direct, trpcMetrics, directMetrics } = await bothWays(services, {
        path,
        type: definition.kind,
        apiKey: 'k',
        input: () => Promise.resolve({ unexpected: [1, 2, 3] }),
      });
      expect(direct).toEqual(trpc);
      expect(directMetrics).toEqual(trpcMetrics);
      // A mailbox procedure refuses before it reads its input; the others refuse the input.
      if (definition.auth === 'mailbox')
        expect(direct).toMatchObject({ shape: { data: { reason: 'AUTH_MISSING' } } });
      else if (definition.input !== undefined)
        expect(direct).toMatchObject({ ok: false, cause: 'ZodError' });
    },
  );

  it('never reads the input of a procedure that takes none', async () => {
    const { trpc, direct } = await bothWays(services, {
      path: 'info',
      type: 'query',
      input: unreachable,
    });
    expect(direct).toEqual(trpc);
    expect(direct.ok).toBe(true);
  });

  it('maps a store outage to the same retryable 503', async () => {
    const { trpc, direct, trpcMetrics, directMetrics } = await bothWays(
      routerTestServices(downStore),
      {
        path: 'directory.lookup',
        type: 'query',
        input: () => Promise.resolve({ agentId: 'bob' }),
      },
    );
    expect(direct).toEqual(trpc);
    expect(direct).toMatchObject({ shape: { data: { reason: 'STORE_UNAVAILABLE' } } });
    expect(directMetrics).toEqual(trpcMetrics);
  });

  it('refuses an answer that breaks the contract as an internal error', async () => {
    const broken = { ...services, limits: { ...services.limits, maxMessageBytes: -1 } };
    const { trpc, direct } = await bothWays(broken, {
      path: 'info',
      type: 'query',
      input: unreachable,
    });
    expect(direct).toEqual(trpc);
    expect(direct).toMatchObject({ shape: { data: { code: 'INTERNAL_SERVER_ERROR' } } });
  });

  it.each([
    { path: 'nope', type: 'query' },
    { path: 'send', type: 'query' },
    { path: 'info', type: 'mutation' },
    { path: 'inbox', type: 'query' },
  ] as const)('does not serve $path as a $type, as tRPC does not', async (call) => {
    const { trpc, direct, directMetrics } = await bothWays(services, {
      ...call,
      input: unreachable,
    });
    expect(direct).toEqual(trpc);
    expect(direct).toMatchObject({ shape: { data: { code: 'NOT_FOUND' } } });
    expect(directMetrics).toEqual([]);
  });
});
