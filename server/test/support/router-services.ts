// Relay services for tests that run the router's procedures in-process, without HTTP: no rate
// limits, and a store that is only asked what each test gives it.
import { DEFAULT_LIMITS, DEFAULT_RATE_LIMITS } from '@deaddrop/contract';
import { RATE_LIMITS_NONE } from '@deaddrop/test-support/rate-limits-none';
import { createAgentDirectory } from '../../src/agent-directory.js';
import { createRequestAdmission } from '../../src/limits/request-admission.js';
import { createRequestLimiter } from '../../src/limits/request-limiter.js';
import { createAddressConnections } from '../../src/live/address-connections.js';
import { createDispatcher } from '../../src/live/dispatcher.js';
import { silentLogger } from '../../src/log.js';
import { createRelayMetrics } from '../../src/metrics/relay-metrics.js';
import type { RelayServices } from '../../src/services.js';
import type { MailboxStore } from '../../src/store/mailbox-store.js';
import { createWebhookNotifier } from '../../src/webhooks/notifier.js';

/** Services over `store` (a partial one: what a test's calls reach), access keys as given. */
export function routerTestServices(store: MailboxStore, apiKeys: readonly string[] = []) {
  const limiter = createRequestLimiter(store, RATE_LIMITS_NONE);
  return {
    log: silentLogger,
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
    admission: createRequestAdmission(limiter, apiKeys),
    trustProxyHops: 0,
    apiKeys: [...apiKeys],
    now: Date.now,
    metrics: createRelayMetrics(),
    webhooks: createWebhookNotifier({
      enabled: true,
      allowedHosts: new Set<string>(),
      store,
      relayId: 'r',
      metrics: createRelayMetrics(),
      log: silentLogger,
    }),
  } satisfies RelayServices;
}
