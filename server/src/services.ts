// What the handlers are given: the store and the relay's fixed facts. Built once per relay process.
import type { RateLimits, RelayLimits } from '@deaddrop/contract';
import type { AgentDirectory } from './agent-directory.js';
import type { RequestAdmission } from './limits/request-admission.js';
import type { RequestLimiter } from './limits/request-limiter.js';
import type { AddressConnections } from './live/address-connections.js';
import type { MailboxDispatcher } from './live/dispatcher.js';
import type { Logger } from './log.js';
import type { RelayMetrics } from './metrics/relay-metrics.js';
import type { MailboxStore } from './store/mailbox-store.js';
import type { WebhookNotifier } from './webhooks/notifier.js';

export interface RelayServices {
  readonly store: MailboxStore;
  readonly directory: AgentDirectory;
  readonly dispatcher: MailboxDispatcher;
  readonly relayId: string;
  readonly version: string;
  readonly limits: RelayLimits;
  readonly rateLimits: RateLimits;
  readonly limiter: RequestLimiter;
  /** Live connections open per client address, with their cap (every live transport). */
  readonly liveConnections: AddressConnections;
  /** Rate-limit tokens and access keys, checked once per request before it is read. */
  readonly admission: RequestAdmission;
  /** Proxies whose `X-Forwarded-For` entries name the client (see limits/client-address.ts). */
  readonly trustProxyHops: number;
  readonly apiKeys: readonly string[];
  readonly now: () => number;
  /** A live subscriber that accepts nothing for this long is disconnected. */
  readonly slowConsumerMs: number;
  /** This relay's Prometheus metrics (its own registry). */
  readonly metrics: RelayMetrics;
  /** Lines about what changed a relay's state (a key rotation), never secrets. */
  readonly log: Logger;
  /** Wake-up notices after a stored message (PROTOCOL §9). */
  readonly webhooks: WebhookNotifier;
}
