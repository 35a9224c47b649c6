// The relay's wake-up notices (PROTOCOL §9): after a stored message, the mailbox's hook is POSTed
// a signed, content-free notice. Per mailbox at most one notice is in flight and one leaves per
// interval; mail arriving meanwhile is coalesced into the next (the newest id wins). Retryable
// failures back off exponentially with jitter within a window; a hook failing `failureCap` times
// in a row is disabled by the store. Nothing here is awaited by a request.
import { compareMessageIds, type MailboxStore, type StoredHook } from '../store/mailbox-store.js';
import type { Logger } from '../log.js';
import type { RelayMetrics } from '../metrics/relay-metrics.js';
import { encodeWebhookNotice, signWebhookNotice } from '@deaddrop/contract';
import {
  resolveHookTarget,
  systemResolver,
  type AllowedHosts,
  type Resolver,
} from './hook-target.js';
import { postNotice, type PostResult } from './notice-post.js';

export interface WebhookTiming {
  /** Least time between two notices to one mailbox. */
  readonly minIntervalMs: number;
  /** One POST's limit. */
  readonly timeoutMs: number;
  /** How long a notice is retried, from its first failure. */
  readonly retryWindowMs: number;
  /** First retry delay; doubled per failure up to `backoffMaxMs`, each with jitter (×0.5–1). */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Consecutive failures after which the hook is disabled. */
  readonly failureCap: number;
  /** Mailboxes with a notice pending at once; beyond it a notice is dropped (bounded memory). */
  readonly maxPending: number;
}

const DEFAULT_WEBHOOK_TIMING: WebhookTiming = {
  minIntervalMs: 1_000,
  timeoutMs: 5_000,
  retryWindowMs: 60 * 60_000,
  backoffBaseMs: 1_000,
  backoffMaxMs: 5 * 60_000,
  failureCap: 100,
  maxPending: 10_000,
};

export interface WebhookNotifier {
  /** False when the operator turned webhooks off (DEADDROP_WEBHOOKS=off). */
  readonly enabled: boolean;
  readonly allowedHosts: AllowedHosts;
  /** A message was stored in a mailbox with an active hook. Returns at once. */
  mailStored(agentId: string, newestId: string): void;
  /** Mailboxes with a notice pending or in flight. */
  pending(): number;
  /** Stops every timer and aborts POSTs in flight; resolves when they have ended. */
  close(): Promise<void>;
}

export interface WebhookNotifierOptions {
  readonly enabled: boolean;
  readonly allowedHosts: AllowedHosts;
  readonly store: MailboxStore;
  readonly relayId: string;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
  readonly now?: () => number;
  readonly timing?: Partial<WebhookTiming>;
  readonly resolve?: Resolver;
}

interface MailboxNotice {
  newestId: string;
  /** A notice is owed: mail arrived since the last one left, or the last one is to be retried. */
  owed: boolean;
  timer: NodeJS.Timeout | undefined;
  lastAttemptAt: number;
  /** Failed attempts of the current notice, and when the first failed. */
  failedAttempts: number;
  firstFailureAt: number | undefined;
}

type AttemptEnd = 'delivered' | 'retry' | 'drop';

/** How an answer ends an attempt: 2xx delivered; network errors, 429 and 5xx retried; else dropped. */
function attemptEnd(result: PostResult): AttemptEnd {
  const { status } = result;
  if (status === null || status === 429 || status >= 500) return 'retry';
  if (status >= 200 && status < 300) return 'delivered';
  // 1xx/3xx (a redirect is not followed) and other 4xx.
  return 'drop';
}

export function createWebhookNotifier(options: WebhookNotifierOptions): WebhookNotifier {
  const timing = { ...DEFAULT_WEBHOOK_TIMING, ...options.timing };
  const now = options.now ?? Date.now;
  const resolve = options.resolve ?? systemResolver;
  const { store, metrics, log } = options;
  const notices = new Map<string, MailboxNotice>();
  const inFlight = new Set<Promise<void>>();
  const shutdown = new AbortController();

  // The entry outlives its notice by the interval, so the next mail waits for it: one notice per
  // interval even when mail comes just slower than notices leave. Nothing owed by then: forgotten.
  const schedule = (agentId: string, notice: MailboxNotice, delayMs: number) => {
    notice.timer = setTimeout(() => {
      notice.timer = undefined;
      if (!notice.owed) {
        notices.delete(agentId);
        return;
      }
      const run = attempt(agentId, notice).finally(() => {
        inFlight.delete(run);
      });
      inFlight.add(run);
    }, delayMs);
    notice.timer.unref();
  };

  const nextAfterInterval = (notice: MailboxNotice) =>
    Math.max(0, notice.lastAttemptAt + timing.minIntervalMs - now());

  const backoffMs = (failures: number) => {
    const full = Math.min(timing.backoffMaxMs, timing.backoffBaseMs * 2 ** (failures - 1));
    return Math.round(full * (0.5 + Math.random() / 2));
  };

  /** One notice attempt; decides what follows (done, retry, the next coalesced notice). */
  async function attempt(agentId: string, notice: MailboxNotice): Promise<void> {
    const newestId = notice.newestId;
    notice.owed = false;
    // undefined: the store could not say, which is retried like a network failure.
    let hook: StoredHook | null | undefined;
    try {
      hook = await store.getHook(agentId);
    } catch {
      hook = undefined;
    }
    const active = hook !== undefined && hook !== null && !hook.disabled;
    let end: AttemptEnd;
    if (hook === undefined) end = 'retry';
    else if (hook === null || hook.disabled) end = 'drop';
    else end = await deliver(agentId, hook, newestId, notice);
    if (shutdown.signal.aborted) return;
    notice.lastAttemptAt = now();
    if (end === 'retry') {
      notice.failedAttempts += 1;
      notice.firstFailureAt ??= notice.lastAttemptAt;
      if (notice.lastAttemptAt - notice.firstFailureAt < timing.retryWindowMs) {
        notice.owed = true;
        schedule(
          agentId,
          notice,
          Math.max(backoffMs(notice.failedAttempts), nextAfterInterval(notice)),
        );
        return;
      }
      metrics.webhookNotice('dropped');
    } else if (end === 'drop' && active) {
      metrics.webhookNotice('dropped');
    }
    notice.failedAttempts = 0;
    notice.firstFailureAt = undefined;
    if (active) {
      schedule(agentId, notice, nextAfterInterval(notice));
      return;
    }
    notices.delete(agentId);
  }

  /** Resolves, checks, POSTs and records one notice; `drop` also when the hook got disabled. */
  async function deliver(
    agentId: string,
    hook: StoredHook,
    newestId: string,
    notice: MailboxNotice,
  ): Promise<AttemptEnd> {
    const url = new URL(hook.url);
    const target = await resolveHookTarget(url, options.allowedHosts, resolve);
    let result: PostResult;
    let end: AttemptEnd;
    if (!target.ok) {
      // A refused address is not retried: it will not become acceptable by waiting.
      result = { status: null, error: target.reason };
      end = target.reason === 'host does not resolve' ? 'retry' : 'drop';
    } else {
      const ts = now();
      const body = encodeWebhookNotice({ agentId, relayId: options.relayId, newestId, ts });
      result = await postNotice({
        url,
        address: target.address,
        body,
        signature: signWebhookNotice(hook.secret, ts, body),
        timeoutMs: timing.timeoutMs,
        signal: shutdown.signal,
      });
      end = attemptEnd(result);
    }
    if (shutdown.signal.aborted) return 'drop';
    const delivered = end === 'delivered';
    metrics.webhookNotice(delivered ? 'sent' : 'failed');
    if (!delivered)
      log.warn('webhook notice failed', {
        agentId,
        status: result.status,
        ...('error' in result ? { error: result.error } : {}),
      });
    try {
      const after = await store.recordHookDelivery(agentId, {
        createdAt: hook.createdAt,
        at: now(),
        status: result.status,
        delivered,
        failureCap: timing.failureCap,
      });
      if (after?.disabled === true) {
        log.warn('webhook disabled after consecutive failures', {
          agentId,
          failures: after.failures,
        });
        notice.owed = false;
        return 'drop';
      }
      // Gone, or set again since: this notice's hook no longer exists.
      if (after === null) {
        notice.owed = false;
        return 'drop';
      }
    } catch {
      // Bookkeeping lost to a store outage; the notice itself is decided by its answer.
    }
    return end;
  }

  return {
    enabled: options.enabled,
    allowedHosts: options.allowedHosts,
    mailStored(agentId, newestId) {
      if (!options.enabled || shutdown.signal.aborted) return;
      const known = notices.get(agentId);
      if (known !== undefined) {
        if (compareMessageIds(newestId, known.newestId) > 0) known.newestId = newestId;
        known.owed = true;
        return;
      }
      if (notices.size >= timing.maxPending) {
        metrics.webhookNotice('dropped');
        return;
      }
      const notice: MailboxNotice = {
        newestId,
        owed: true,
        timer: undefined,
        lastAttemptAt: Number.NEGATIVE_INFINITY,
        failedAttempts: 0,
        firstFailureAt: undefined,
      };
      notices.set(agentId, notice);
      schedule(agentId, notice, 0);
    },
    pending: () => notices.size,
    async close() {
      shutdown.abort();
      for (const notice of notices.values()) clearTimeout(notice.timer);
      notices.clear();
      await Promise.all(inFlight);
    },
  };
}
