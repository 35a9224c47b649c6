// Runtime half of the drift check: the relay serves exactly the contract's procedures, each of the
// declared kind and validated by the contract's own schema objects (not copies).
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, DEFAULT_RATE_LIMITS, listProcedures } from '@deaddrop/contract';
import { createAgentDirectory } from '../src/agent-directory.js';
import { createRequestAdmission } from '../src/limits/request-admission.js';
import { createRequestLimiter } from '../src/limits/request-limiter.js';
import { createAddressConnections } from '../src/live/address-connections.js';
import { createDispatcher } from '../src/live/dispatcher.js';
import { createRelayMetrics } from '../src/metrics/relay-metrics.js';
import { createAppRouter } from '../src/router.js';
import type { MailboxStore } from '../src/store/mailbox-store.js';

interface ProcedureInternals {
  _def: { type: string; inputs: unknown[] };
}

describe('the relay router against the contract', () => {
  const store = {} as MailboxStore;
  const limiter = createRequestLimiter(store, DEFAULT_RATE_LIMITS);
  const router = createAppRouter({
    store,
    directory: createAgentDirectory(store),
    dispatcher: createDispatcher(store),
    slowConsumerMs: 30_000,
    relayId: 'r',
    version: '0.0.0',
    limits: DEFAULT_LIMITS,
    rateLimits: DEFAULT_RATE_LIMITS,
    limiter,
    liveConnections: createAddressConnections(DEFAULT_RATE_LIMITS.liveConnectionsPerAddress),
    admission: createRequestAdmission(limiter, []),
    trustProxyHops: 0,
    apiKeys: [],
    now: Date.now,
    metrics: createRelayMetrics(),
  });
  // tRPC's flat map of built procedures, read for the internals it documents as `_def`.
  const served = router._def.procedures as unknown as Record<string, ProcedureInternals>;

  it('serves exactly the contract procedures', () => {
    expect(Object.keys(served).sort()).toEqual(
      listProcedures()
        .map((p) => p.path)
        .sort(),
    );
  });

  it.each(listProcedures())(
    '$path has the contract kind and input schema',
    ({ path, definition }) => {
      const procedure = served[path];
      expect(procedure?._def.type).toBe(definition.kind);
      expect(procedure?._def.inputs).toEqual(
        definition.input === undefined ? [] : [definition.input],
      );
      if (definition.input !== undefined) expect(procedure?._def.inputs[0]).toBe(definition.input);
    },
  );
});
