// The per-address rate limits every request meets (calls, live subscriptions, registrations) and
// the per-mailbox buckets a send carries into the store's atomic append. Buckets live in the store,
// so on Redis every relay process counts against the same ones.
import type { RateLimits } from '@deaddrop/contract';
import { RelayFault } from '../relay-error.js';
import type { AppendRate, MailboxStore } from '../store/mailbox-store.js';
import { isUnlimited, perMinute, perSecond, type BucketRate } from './token-bucket.js';
import { leasedTokens, type TakeTokens } from './token-leases.js';

export interface RequestLimiter {
  /** Spends `count` calls of `address`; throws RATE_LIMITED (with retryAfterMs) past its limit. */
  calls(address: string, count: number): Promise<void>;
  /** One live inbox subscription opened from `address`. */
  subscription(address: string): Promise<void>;
  /** One registration from `address`. */
  registration(address: string): Promise<void>;
  /** One prekey claimed by `address` from `agentId`'s mailbox (PROTOCOL §10). */
  prekeyClaim(address: string, agentId: string): Promise<void>;
  /** The mailbox buckets of a send from `address`, for the store's append. */
  appendRate(address: string): AppendRate;
}

interface AddressLimit {
  readonly name: string;
  readonly rate: BucketRate;
  readonly describe: string;
}

export function createRequestLimiter(store: MailboxStore, limits: RateLimits): RequestLimiter {
  const callLimit: AddressLimit = {
    name: 'calls',
    rate: perSecond(limits.requestsPerSecond, limits.requestBurst),
    describe: `${limits.requestsPerSecond} calls a second (bursts of ${limits.requestBurst}) from one address`,
  };
  const subscriptionLimit: AddressLimit = {
    name: 'subscriptions',
    rate: perMinute(limits.subscriptionsPerMinute),
    describe: `${limits.subscriptionsPerMinute} new subscriptions a minute from one address`,
  };
  const registrationLimit: AddressLimit = {
    name: 'registrations',
    rate: perMinute(limits.registrationsPerMinute),
    describe: `${limits.registrationsPerMinute} registrations a minute from one address`,
  };
  // Per (address, mailbox): the bucket's name carries the agent id (ids have no spaces or braces).
  const prekeyClaimRate = perMinute(limits.prekeyClaimsPerMinute);
  const prekeyClaimLimit = (agentId: string): AddressLimit => ({
    name: `prekey-claims:${agentId}`,
    rate: prekeyClaimRate,
    describe: `${limits.prekeyClaimsPerMinute} prekey claims a minute from one mailbox by one address`,
  });
  const mailbox = perMinute(limits.mailboxMessagesPerMinute);
  const sender = perMinute(limits.senderMessagesPerMinute);

  const exact: TakeTokens = (scope, name, rate, cost) => store.takeTokens(scope, name, rate, cost);
  // Only where a check costs a round trip, and only for calls, the limit met on every request.
  const leased = store.kind === 'redis' ? leasedTokens(exact) : exact;

  const take = async (
    limit: AddressLimit,
    address: string,
    cost = 1,
    takeTokens: TakeTokens = exact,
  ): Promise<void> => {
    if (isUnlimited(limit.rate)) return;
    const retryAfterMs = await takeTokens(address, limit.name, limit.rate, cost);
    if (retryAfterMs > 0) throw rateLimited(limit.describe, retryAfterMs);
  };

  return {
    calls: (address, count) => take(callLimit, address, count, leased),
    subscription: (address) => take(subscriptionLimit, address),
    registration: (address) => take(registrationLimit, address),
    prekeyClaim: (address, agentId) => take(prekeyClaimLimit(agentId), address),
    appendRate: (address) => ({ source: address, mailbox, sender }),
  };
}

function rateLimited(what: string, retryAfterMs: number): RelayFault {
  return new RelayFault(
    'RATE_LIMITED',
    `at most ${what}; retry in ${(retryAfterMs / 1000).toFixed(1)} s`,
    { retryAfterMs },
  );
}

/** A send refused by a mailbox bucket, described with the configured figure. */
export function sendRateLimited(
  limit: 'mailbox' | 'sender',
  limits: RateLimits,
  retryAfterMs: number,
): RelayFault {
  return rateLimited(
    limit === 'mailbox'
      ? `${limits.mailboxMessagesPerMinute} messages a minute into one mailbox`
      : `${limits.senderMessagesPerMinute} messages a minute into one mailbox from one address`,
    retryAfterMs,
  );
}
