// Every Redis key and channel name DeadDrop uses (PROTOCOL §4), built in one place. A mailbox's keys
// share the hash tag `{agentId}` so they live on one cluster slot and one Lua script may touch them all.

/** Shared, outside every mailbox slot. */
export const RELAY_ID_KEY = 'dd:relay-id';

export interface MailboxKeys {
  /** Stream of `{ c: ciphertext, b: decoded bytes }` entries. */
  readonly inbox: string;
  /** Hash `{ key, registeredAt, bytes }`: the directory record plus the live byte total. */
  readonly agent: string;
  /**
   * List of the agent's rotation steps (PROTOCOL §10), oldest first, each one JSON text
   * `{ oldKey, newKey, ts, sigOld, sigNew }`; the last 16 are kept.
   */
  readonly rotations: string;
  /**
   * Hash `{ url, secret, createdAt, lastDeliveryAt, lastStatus, failures, disabled }`: the
   * mailbox's wake-up webhook (PROTOCOL §9), in its slot so the append script sees it.
   */
  readonly hook: string;
  /**
   * List of the agent's one-time prekeys (PROTOCOL §10), oldest first, each `"<id> <key> <sig>"`;
   * in the mailbox's slot like the rest of it.
   */
  readonly prekeys: string;
  /** Pub/sub channel woken on every append. */
  readonly notify: string;
  /** Rate-limit bucket of the messages the mailbox accepts. */
  readonly rate: string;
  /** Rate-limit bucket of the messages it accepts from one client address. */
  senderRate(address: string): string;
  idempotency(idempotencyKey: string): string;
  nonce(nonce: string): string;
}

export function mailboxKeys(agentId: string): MailboxKeys {
  const base = `dd:{${agentId}}:`;
  return {
    inbox: `${base}inbox`,
    agent: `${base}agent`,
    rotations: `${base}rotations`,
    hook: `${base}hook`,
    prekeys: `${base}prekeys`,
    notify: `${base}notify`,
    rate: `${base}rate`,
    senderRate: (address) => `${base}rate:${address}`,
    idempotency: (idempotencyKey) => `${base}idem:${idempotencyKey}`,
    nonce: (nonce) => `${base}nonce:${nonce}`,
  };
}

/**
 * A rate-limit bucket of one client address (calls, subscriptions, registrations): outside every
 * mailbox slot, the address as its own hash tag.
 */
export function addressBucketKey(address: string, name: string): string {
  return `dd:rl:{${address}}:${name}`;
}

/** SCAN pattern matching every inbox stream (agent ids contain no glob characters). */
export const INBOX_KEY_PATTERN = 'dd:{*}:inbox';

/** Inverse of `mailboxKeys(a).inbox`, for keys found by SCAN (prefix already removed). */
export function agentIdFromInboxKey(key: string): string | null {
  const match = /^dd:\{([^{}]+)\}:inbox$/.exec(key);
  return match?.[1] ?? null;
}

/**
 * A key prefix (ioredis `keyPrefix`, used to isolate test runs or tenants). Braces would move the
 * hash tag and glob characters would break SCAN, so only a plain alphabet is allowed.
 */
export const KEY_PREFIX_PATTERN = /^[A-Za-z0-9._:-]{0,64}$/;

/** Checks a key prefix against KEY_PREFIX_PATTERN. */
export function assertValidKeyPrefix(prefix: string): void {
  if (!KEY_PREFIX_PATTERN.test(prefix)) {
    throw new RangeError('Redis key prefix must be at most 64 characters of [A-Za-z0-9._:-]');
  }
}
