// The hostile relay's honest memory: the directory, one mailbox per agent with ids "<ms>-<seq>"
// that only ever grow, send idempotency, and who to wake when a message arrives. No HTTP here.
import {
  b64uDecodedLength,
  limitsSchema,
  messageIdSchema,
  type AgentRecord,
  type HookStatus,
  type Limits,
  type SendResult,
  type StoredMessage,
  type Prekey,
} from '@deaddrop/contract';

export interface AppendOptions {
  /** Any valid message id, even one already used or lower than the last: tests choose. */
  readonly id?: string;
  readonly receivedAt?: number;
  readonly expiresAt?: number;
}

/** Called with each message appended to a mailbox, in order. */
export type DeliveryListener = (message: StoredMessage) => void;

export type RegisterOutcome =
  { readonly status: 'registered'; readonly record: AgentRecord } | { readonly status: 'conflict' };

export type SendOutcome =
  | { readonly status: 'stored' | 'duplicate'; readonly result: SendResult }
  | { readonly status: 'no-mailbox' | 'conflict' }
  | { readonly status: 'full'; readonly count: number };

/** A message id as numbers that compare exactly (each part may exceed 2^53). */
function idParts(id: string): readonly [bigint, bigint] {
  const dash = id.indexOf('-');
  return [BigInt(id.slice(0, dash)), BigInt(id.slice(dash + 1))];
}

/** Negative, zero or positive as `a` sorts before, with or after `b` (both valid message ids). */
function compareMessageIds(a: string, b: string): number {
  const [aMs, aSeq] = idParts(a);
  const [bMs, bSeq] = idParts(b);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}

export class HonestRelayState {
  readonly relayId: string;
  readonly version: string;
  #limits: Limits;
  readonly #directory = new Map<string, AgentRecord>();
  readonly #mailboxes = new Map<string, StoredMessage[]>();
  /** `<recipient>\n<idempotencyKey>` → what the first send with it stored. */
  readonly #sends = new Map<string, { readonly ciphertext: string; readonly result: SendResult }>();
  readonly #listeners = new Map<string, Set<DeliveryListener>>();
  /** Each mailbox's webhook as `hooks.get` reports it (this relay sends no notices). */
  readonly #hooks = new Map<string, HookStatus>();
  /** Each agent's one-time prekeys, oldest first. */
  readonly #prekeys = new Map<string, Prekey[]>();
  /** The highest id handed out or delivered, so generated ids stay strictly increasing. */
  #lastId: readonly [bigint, bigint] = [0n, 0n];

  constructor(relayId: string, version: string, limits: Limits) {
    this.relayId = relayId;
    this.version = version;
    this.#limits = limitsSchema.parse(limits);
  }

  get limits(): Limits {
    return { ...this.#limits };
  }

  /** Honest limits only: a test wanting nonsense in `info` answers it with a behaviour. */
  setLimits(patch: Partial<Limits>): void {
    this.#limits = limitsSchema.parse({ ...this.#limits, ...patch });
  }

  register(agentId: string, agentKey: string, now: number): RegisterOutcome {
    const existing = this.#directory.get(agentId);
    if (existing !== undefined)
      return existing.agentKey === agentKey
        ? { status: 'registered', record: { ...existing } }
        : { status: 'conflict' };
    const record = { agentId, agentKey, registeredAt: now };
    this.#directory.set(agentId, record);
    return { status: 'registered', record: { ...record } };
  }

  /** Sets the directory entry whatever was there: a test seeding agents or swapping keys. */
  setRecord(agentId: string, agentKey: string, now: number): AgentRecord {
    const record = { agentId, agentKey, registeredAt: now };
    this.#directory.set(agentId, record);
    return { ...record };
  }

  lookup(agentId: string): AgentRecord | null {
    const record = this.#directory.get(agentId);
    return record === undefined ? null : { ...record };
  }

  /** Stores a message whatever the limits, and wakes everyone waiting on that mailbox. */
  append(agentId: string, ciphertext: string, options: AppendOptions = {}): StoredMessage {
    const id = options.id ?? this.#nextId();
    const parsed = messageIdSchema.safeParse(id);
    if (!parsed.success) throw new TypeError(`"${id}" is not a message id ("<ms>-<seq>")`);
    const parts = idParts(id);
    if (compareMessageIds(id, this.#lastIdText()) > 0) this.#lastId = parts;
    const receivedAt = options.receivedAt ?? Date.now();
    const message: StoredMessage = {
      id,
      ciphertext,
      receivedAt,
      expiresAt: options.expiresAt ?? receivedAt + this.#limits.ttlSeconds * 1000,
    };
    const mailbox = this.#mailboxes.get(agentId) ?? [];
    mailbox.push(message);
    this.#mailboxes.set(agentId, mailbox);
    for (const listener of this.#listeners.get(agentId) ?? []) listener({ ...message });
    return { ...message };
  }

  /** `send`'s store step: recipient, idempotency, then quota, as the real store checks them. */
  send(to: string, ciphertext: string, idempotencyKey: string | undefined): SendOutcome {
    if (!this.#directory.has(to)) return { status: 'no-mailbox' };
    const sendKey = idempotencyKey === undefined ? undefined : `${to}\n${idempotencyKey}`;
    const earlier = sendKey === undefined ? undefined : this.#sends.get(sendKey);
    if (earlier !== undefined)
      return earlier.ciphertext === ciphertext
        ? { status: 'duplicate', result: { ...earlier.result, duplicate: true } }
        : { status: 'conflict' };
    const count = this.messages(to).length;
    if (count >= this.#limits.maxMessages) return { status: 'full', count };
    const stored = this.append(to, ciphertext);
    const result = {
      id: stored.id,
      receivedAt: stored.receivedAt,
      expiresAt: stored.expiresAt,
      duplicate: false,
    };
    if (sendKey !== undefined) this.#sends.set(sendKey, { ciphertext, result });
    return { status: 'stored', result };
  }

  /** The unexpired messages of a mailbox, in the order they were stored (expired ones dropped). */
  messages(agentId: string, now = Date.now()): readonly StoredMessage[] {
    const mailbox = this.#mailboxes.get(agentId);
    if (mailbox === undefined) return [];
    const live = mailbox.filter((message) => message.expiresAt > now);
    if (live.length !== mailbox.length) this.#mailboxes.set(agentId, live);
    return live.map((message) => ({ ...message }));
  }

  /** Up to `limit` messages whose id sorts after `after`, in stored order. */
  read(agentId: string, after: string, limit: number): StoredMessage[] {
    return this.messages(agentId)
      .filter((message) => compareMessageIds(message.id, after) > 0)
      .slice(0, limit);
  }

  /** Removes the messages with these ids; how many distinct ids named a stored message. */
  delete(agentId: string, ids: readonly string[]): number {
    const doomed = new Set(ids);
    const mailbox = this.messages(agentId);
    const kept = mailbox.filter((message) => !doomed.has(message.id));
    this.#mailboxes.set(agentId, [...kept]);
    return new Set(mailbox.filter((message) => doomed.has(message.id)).map((m) => m.id)).size;
  }

  /** Adds prekeys after the agent's others; the caller checked them. Returns how many it holds. */
  publishPrekeys(agentId: string, prekeys: readonly Prekey[]): number {
    const held = this.#prekeys.get(agentId) ?? [];
    held.push(...prekeys);
    this.#prekeys.set(agentId, held);
    return held.length;
  }

  prekeys(agentId: string): readonly Prekey[] {
    return this.#prekeys.get(agentId) ?? [];
  }

  /** Removes and returns the oldest prekey, or null. */
  claimPrekey(agentId: string): Prekey | null {
    return this.#prekeys.get(agentId)?.shift() ?? null;
  }

  setHook(agentId: string, url: string, now: number): HookStatus {
    const hook: HookStatus = {
      url,
      createdAt: now,
      lastDeliveryAt: null,
      lastStatus: null,
      failures: 0,
      disabled: false,
    };
    this.#hooks.set(agentId, hook);
    return hook;
  }

  hook(agentId: string): HookStatus | null {
    return this.#hooks.get(agentId) ?? null;
  }

  clearHook(agentId: string): boolean {
    return this.#hooks.delete(agentId);
  }

  /** Calls `listener` for each message appended to `agentId`'s mailbox until the returned stop. */
  listen(agentId: string, listener: DeliveryListener): () => void {
    const listeners = this.#listeners.get(agentId) ?? new Set<DeliveryListener>();
    listeners.add(listener);
    this.#listeners.set(agentId, listeners);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.#listeners.delete(agentId);
    };
  }

  /** Stored bytes, as the relay counts them: the decoded envelope sizes. */
  static bytesOf(messages: readonly StoredMessage[]): number {
    return messages.reduce((sum, message) => sum + b64uDecodedLength(message.ciphertext), 0);
  }

  #lastIdText(): string {
    return `${this.#lastId[0]}-${this.#lastId[1]}`;
  }

  #nextId(): string {
    const now = BigInt(Date.now());
    const [lastMs, lastSeq] = this.#lastId;
    this.#lastId = now > lastMs ? [now, 0n] : [lastMs, lastSeq + 1n];
    return this.#lastIdText();
  }
}
