// How `sendMessage` rides out a blip of the relay or of its store: the same request again — the
// same idempotency key and ciphertext for the send — after a failure that refused nothing on
// purpose: the relay could not be reached, gave no answer in time, or had no store (503). The relay
// stores a key's message once and answers a repeat with the same id (`duplicate: true`), so a retry
// never stores a copy, even when only the answer was lost.
import { DeadDropError, isDeadDropError } from './errors.js';

export interface SendRetryPolicy {
  /** Attempts in all, the first included; 1 turns retrying off. Default 5. */
  readonly attempts?: number | undefined;
  /**
   * Backoff: the n-th retry waits a random time between half and all of `baseDelayMs × 2^(n−1)`,
   * capped at `maxDelayMs`, or the relay's `retryAfterMs` when that is longer. Default 500.
   */
  readonly baseDelayMs?: number | undefined;
  /** Longest backoff between two attempts. Default 8000. */
  readonly maxDelayMs?: number | undefined;
  /** An attempt without an answer after this long is abandoned, and counts as a failure. Default 10000. */
  readonly attemptTimeoutMs?: number | undefined;
  /**
   * The whole call — every attempt and wait — settles within this: no attempt runs past it, and a
   * wait that would end past it is not started (the last failure is thrown). Default 30000.
   */
  readonly totalTimeoutMs?: number | undefined;
  /**
   * Told before each wait for a retry, so a caller can say why it is taking long (the CLI prints
   * "retrying"). Runs synchronously; what it throws is ignored.
   */
  readonly onRetry?: ((retry: SendRetryNotice) => void) | undefined;
}

/** What `onRetry` is told: the failure, and when and as which attempt the call is tried again. */
export interface SendRetryNotice {
  /** Why the last attempt failed: a reason `isRetryableSendFailure` accepts. */
  readonly error: DeadDropError;
  /** The attempt that is coming (2 for the first retry). */
  readonly nextAttempt: number;
  /** Attempts in all, per the policy (the call's deadline may end it sooner). */
  readonly attempts: number;
  /** The wait before it, in ms. */
  readonly waitMs: number;
}

type SendRetryLimit = Exclude<keyof SendRetryPolicy, 'onRetry'>;

export type ResolvedSendRetryPolicy = { readonly [K in SendRetryLimit]-?: number } & {
  readonly onRetry?: SendRetryPolicy['onRetry'];
};

export const DEFAULT_SEND_RETRY_POLICY: ResolvedSendRetryPolicy = {
  attempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  attemptTimeoutMs: 10_000,
  totalTimeoutMs: 30_000,
};

/** The policy with defaults filled in; an invalid value is an INVALID_CONFIG error. */
export function resolveSendRetryPolicy(
  policy: SendRetryPolicy | undefined,
): ResolvedSendRetryPolicy {
  const resolved: { -readonly [K in SendRetryLimit]: number } = { ...DEFAULT_SEND_RETRY_POLICY };
  for (const name of Object.keys(DEFAULT_SEND_RETRY_POLICY) as SendRetryLimit[]) {
    const value = policy?.[name];
    if (value === undefined) continue;
    const least = name === 'attempts' || name.endsWith('TimeoutMs') ? 1 : 0;
    if (!Number.isSafeInteger(value) || value < least) {
      throw new DeadDropError(
        'INVALID_CONFIG',
        `sendRetry.${name} must be an integer of at least ${least}, not ${String(value)}`,
      );
    }
    resolved[name] = value;
  }
  return policy?.onRetry === undefined ? resolved : { ...resolved, onRetry: policy.onRetry };
}

/** Failures that may be retried: nothing was refused on purpose, and nothing stored twice. */
export function isRetryableSendFailure(error: unknown): error is DeadDropError {
  return (
    isDeadDropError(error) &&
    (error.reason === 'RELAY_UNREACHABLE' ||
      error.reason === 'STORE_UNAVAILABLE' ||
      error.httpStatus === 503)
  );
}

/** The wait before retry number `retry` (1 for the first): exponential, with jitter. */
export function backoffMs(
  retry: number,
  policy: Pick<ResolvedSendRetryPolicy, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.baseDelayMs * 2 ** (retry - 1), policy.maxDelayMs);
  // "Equal jitter": at least half the ceiling, so retries never come in a burst.
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Runs one attempt with the signal that abandons it; what `withSendRetry` repeats. */
export type RetriedAttempt<T> = (signal: AbortSignal) => Promise<T>;

export interface RetryRun {
  /** When every attempt and wait must be over (ms since the epoch). */
  readonly deadline: number;
  readonly policy: ResolvedSendRetryPolicy;
  /** For error messages. */
  readonly relayUrl: string;
  /** Aborted when the client is closed: the attempt in flight and any wait end at once. */
  readonly closing?: AbortSignal | undefined;
  /** Test seams. */
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * `attempt` until it succeeds, fails in a way retrying cannot fix, runs out of attempts, or would
 * outlive the run's deadline. An attempt gets a signal that aborts at its timeout; one that ignores
 * the signal is abandoned all the same.
 */
export async function withSendRetry<T>(run: RetryRun, attempt: RetriedAttempt<T>): Promise<T> {
  const now = run.now ?? Date.now;
  const { policy } = run;
  for (let number = 1; ; number++) {
    const budgetMs = Math.max(1, Math.min(policy.attemptTimeoutMs, run.deadline - now()));
    let failure: unknown;
    try {
      return await bounded(attempt, budgetMs, run);
    } catch (error) {
      failure = error;
    }
    if (isClosed(run)) throw closedWhileSending(run, failure);
    if (number >= policy.attempts || !isRetryableSendFailure(failure)) throw failure;
    const waitMs = Math.max(backoffMs(number, policy, run.random), failure.retryAfterMs ?? 0);
    if (now() + waitMs >= run.deadline) throw failure;
    tellRetry(policy, {
      error: failure,
      nextAttempt: number + 1,
      attempts: policy.attempts,
      waitMs,
    });
    await waitUnlessClosed(waitMs, run.closing);
    if (isClosed(run)) throw closedWhileSending(run, failure);
  }
}

function isClosed(run: RetryRun): boolean {
  return run.closing?.aborted === true;
}

function closedWhileSending(run: RetryRun, cause: unknown): DeadDropError {
  return new DeadDropError(
    'RELAY_UNREACHABLE',
    `the client was closed while sending to the relay at ${run.relayUrl}`,
    { cause },
  );
}

function waitUnlessClosed(ms: number, closing: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      closing?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    closing?.addEventListener('abort', done, { once: true });
  });
}

function tellRetry(policy: ResolvedSendRetryPolicy, notice: SendRetryNotice): void {
  try {
    policy.onRetry?.(notice);
  } catch {
    // A progress report must not change the outcome of the send.
  }
}

async function bounded<T>(attempt: RetriedAttempt<T>, budgetMs: number, run: RetryRun) {
  const { relayUrl } = run;
  const controller = new AbortController();
  const onClose = (): void => {
    controller.abort(closedWhileSending(run, undefined));
  };
  run.closing?.addEventListener('abort', onClose, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new DeadDropError(
        'RELAY_UNREACHABLE',
        `no answer from the relay at ${relayUrl} within ${budgetMs} ms`,
      );
      controller.abort(error);
      reject(error);
    }, budgetMs);
  });
  try {
    return await Promise.race([attempt(controller.signal), timedOut]);
  } finally {
    clearTimeout(timer);
    run.closing?.removeEventListener('abort', onClose);
  }
}
