// Shared pieces of the store conformance suite: the per-driver context, agents, messages, waits.
import { randomBytes, sha256Hex, toB64u, type AgentRecord } from '@deaddrop/contract';
import type {
  AppendInput,
  AppendOutcome,
  AppendedMessage,
  MailboxStore,
  StoreOptions,
} from '../../src/store/mailbox-store.js';

export const DEFAULT_OPTIONS: StoreOptions = { ttlSeconds: 3600, maxMessages: 1000 };

/** What each topic's tests get from `describeMailboxStore`. */
export interface SuiteContext {
  /** A store on fresh, isolated storage; closed after the test. */
  open(options?: StoreOptions): Promise<MailboxStore>;
  /** Closes `store` and opens a new one on the same storage, or undefined when unsupported. */
  readonly reopen:
    ((store: MailboxStore, options?: StoreOptions) => Promise<MailboxStore>) | undefined;
  /** Everything `store`'s storage holds, as text, or undefined when unsupported. */
  readonly rawContents: ((store: MailboxStore) => Promise<string>) | undefined;
}

export function newAgentId(label = 'a'): string {
  return `${label}-${toB64u(randomBytes(6))
    .toLowerCase()
    .replace(/[^a-z0-9]/g, 'x')}`;
}

export function agentRecord(agentId = newAgentId()): AgentRecord {
  return { agentId, agentKey: `ddk1_${toB64u(randomBytes(64))}`, registeredAt: Date.now() };
}

export async function registerNew(store: MailboxStore, label?: string): Promise<string> {
  const record = agentRecord(newAgentId(label));
  const outcome = await store.register(record);
  if (outcome.status !== 'created') throw new Error(`register: ${outcome.status}`);
  return record.agentId;
}

/** A freshly registered agent's record (its key is what `useNonce` checks against). */
export async function registerRecord(store: MailboxStore): Promise<AgentRecord> {
  const record = agentRecord();
  const outcome = await store.register(record);
  if (outcome.status !== 'created') throw new Error(`register: ${outcome.status}`);
  return record;
}

export function idempotencyKey(): string {
  return toB64u(randomBytes(18));
}

/** An append of a random stand-in ciphertext (the store never decodes it). */
export function messageTo(agentId: string, overrides: Partial<AppendInput> = {}): AppendInput {
  const bytes = overrides.bytes ?? 169 + Math.floor(Math.random() * 64);
  const ciphertext = overrides.ciphertext ?? toB64u(randomBytes(bytes));
  return {
    agentId,
    ciphertext,
    bytes,
    idempotencyKey: idempotencyKey(),
    ciphertextHash: sha256Hex(ciphertext),
    ...overrides,
  };
}

/** The stored message of a `stored` outcome: its id and times (not the outcome's other facts). */
export function expectStored(outcome: AppendOutcome): AppendedMessage {
  if (outcome.status !== 'stored') throw new Error(`expected stored, got ${outcome.status}`);
  const { id, receivedAt, expiresAt } = outcome;
  return { id, receivedAt, expiresAt };
}

export async function appendMany(
  store: MailboxStore,
  agentId: string,
  count: number,
): Promise<AppendedMessage[]> {
  const stored: AppendedMessage[] = [];
  for (let i = 0; i < count; i += 1)
    stored.push(expectStored(await store.append(messageTo(agentId))));
  return stored;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sleeps until the local clock passes `at` (ms), plus a small margin. */
export async function sleepUntil(at: number, margin = 25): Promise<void> {
  await sleep(Math.max(0, at - Date.now()) + margin);
}

/** A watcher that counts its wake-ups and lets a test await the next one. */
export interface CountingWatcher {
  readonly count: number;
  /** Resolves true on the next wake-up, false after `timeoutMs` without one. */
  next(timeoutMs?: number): Promise<boolean>;
  stop(): void;
}

export function watchCounting(store: MailboxStore, agentId: string): CountingWatcher {
  let count = 0;
  let waiters: (() => void)[] = [];
  const stop = store.watch(agentId, () => {
    count += 1;
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();
  });
  return {
    get count() {
      return count;
    },
    next: (timeoutMs = 2_000) =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          resolve(false);
        }, timeoutMs);
        waiters.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
      }),
    stop,
  };
}
