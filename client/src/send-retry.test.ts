// The send retry policy: which failures are retried, backoff with jitter, retryAfterMs, and the
// attempt and total time bounds. End to end against a relay: client/test/send-retry.test.ts.
import { describe, expect, it } from 'vitest';
import { DeadDropError } from './errors.js';
import {
  DEFAULT_SEND_RETRY_POLICY,
  backoffMs,
  isRetryableSendFailure,
  resolveSendRetryPolicy,
  withSendRetry,
  type ResolvedSendRetryPolicy,
  type SendRetryNotice,
} from './send-retry.js';

const FAST: ResolvedSendRetryPolicy = {
  attempts: 4,
  baseDelayMs: 10,
  maxDelayMs: 40,
  attemptTimeoutMs: 1_000,
  totalTimeoutMs: 5_000,
};

function run(policy: Partial<ResolvedSendRetryPolicy> = {}) {
  const resolved = { ...FAST, ...policy };
  return {
    deadline: Date.now() + resolved.totalTimeoutMs,
    policy: resolved,
    relayUrl: 'http://relay.test',
  };
}

const unreachable = () => new DeadDropError('RELAY_UNREACHABLE', 'cannot reach the relay');
const noStore = (retryAfterMs?: number) =>
  new DeadDropError('STORE_UNAVAILABLE', 'the relay’s store is unavailable; retry shortly', {
    httpStatus: 503,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });

/** An attempt that fails with each of `failures` in turn, then answers `ok`. */
function scripted(failures: readonly Error[]) {
  const signals: AbortSignal[] = [];
  const startedAt: number[] = [];
  const attempt = (signal: AbortSignal): Promise<string> => {
    signals.push(signal);
    startedAt.push(Date.now());
    const failure = failures[signals.length - 1];
    return failure === undefined ? Promise.resolve('ok') : Promise.reject(failure);
  };
  return { attempt, signals, startedAt };
}

describe('send retry policy', () => {
  it('fills in defaults and refuses values that are not sane integers', () => {
    expect(resolveSendRetryPolicy(undefined)).toEqual(DEFAULT_SEND_RETRY_POLICY);
    expect(resolveSendRetryPolicy({ attempts: 1 })).toEqual({
      ...DEFAULT_SEND_RETRY_POLICY,
      attempts: 1,
    });
    for (const bad of [
      { attempts: 0 },
      { attempts: 2.5 },
      { baseDelayMs: -1 },
      { attemptTimeoutMs: 0 },
      { totalTimeoutMs: Number.NaN },
    ]) {
      expect(() => resolveSendRetryPolicy(bad)).toThrow(
        expect.objectContaining({ reason: 'INVALID_CONFIG' }),
      );
    }
  });

  it('retries an unreachable relay and a 503, nothing else', () => {
    expect(isRetryableSendFailure(unreachable())).toBe(true);
    expect(isRetryableSendFailure(noStore())).toBe(true);
    expect(
      isRetryableSendFailure(new DeadDropError('RELAY_ERROR', 'proxy', { httpStatus: 503 })),
    ).toBe(true);
    for (const reason of ['MAILBOX_FULL', 'IDEMPOTENCY_CONFLICT', 'AGENT_NOT_FOUND'] as const)
      expect(isRetryableSendFailure(new DeadDropError(reason, reason))).toBe(false);
    expect(isRetryableSendFailure(new Error('bug'))).toBe(false);
  });

  it('backs off exponentially, between half and all of the step, capped', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1_000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, policy, () => 0))).toEqual([
      50, 100, 200, 400, 500,
    ]);
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, policy, () => 1))).toEqual([
      100, 200, 400, 800, 1_000,
    ]);
  });

  it('repeats the attempt until it succeeds', async () => {
    const script = scripted([unreachable(), noStore(), unreachable()]);
    await expect(withSendRetry(run(), script.attempt)).resolves.toBe('ok');
    expect(script.signals).toHaveLength(4);
  });

  it('throws a failure retrying cannot fix at once, and the last one after the attempts', async () => {
    const full = new DeadDropError('MAILBOX_FULL', 'mailbox full', { httpStatus: 429 });
    const refused = scripted([full]);
    await expect(withSendRetry(run(), refused.attempt)).rejects.toBe(full);
    expect(refused.signals).toHaveLength(1);

    const failures = [unreachable(), unreachable(), unreachable(), noStore(), unreachable()];
    const down = scripted(failures);
    await expect(withSendRetry(run(), down.attempt)).rejects.toBe(failures[3]);
    expect(down.signals).toHaveLength(FAST.attempts);
  });

  it('tells onRetry before each wait, not after the last attempt, and survives it throwing', async () => {
    const failures = [unreachable(), noStore(), unreachable(), unreachable()];
    const notices: SendRetryNotice[] = [];
    const onRetry = (notice: SendRetryNotice): void => {
      notices.push(notice);
      throw new Error('a broken progress printer');
    };
    const policy = resolveSendRetryPolicy({ ...FAST, onRetry });
    const down = scripted(failures);
    await expect(withSendRetry(run(policy), down.attempt)).rejects.toBe(failures[3]);
    expect(
      notices.map(({ error, nextAttempt, attempts }) => [error, nextAttempt, attempts]),
    ).toEqual([
      [failures[0], 2, 4],
      [failures[1], 3, 4],
      [failures[2], 4, 4],
    ]);
    for (const notice of notices) expect(notice.waitMs).toBeGreaterThan(0);
  });

  it('waits at least the relay’s retryAfterMs', async () => {
    const script = scripted([noStore(150)]);
    await expect(withSendRetry(run(), script.attempt)).resolves.toBe('ok');
    const [first = 0, second = 0] = script.startedAt;
    expect(second - first).toBeGreaterThanOrEqual(145);
  });

  it('gives up at once when the next wait would end past the deadline', async () => {
    const failure = noStore(10_000);
    const script = scripted([failure]);
    const started = Date.now();
    await expect(withSendRetry(run({ totalTimeoutMs: 2_000 }), script.attempt)).rejects.toBe(
      failure,
    );
    expect(Date.now() - started).toBeLessThan(500);
    expect(script.signals).toHaveLength(1);
  });

  it('abandons an attempt that does not answer in time, aborting it, and tries again', async () => {
    const signals: AbortSignal[] = [];
    const attempt = (signal: AbortSignal): Promise<string> => {
      signals.push(signal);
      // The first attempt never answers (and ignores its signal); the second does.
      return signals.length === 1 ? new Promise<string>(() => undefined) : Promise.resolve('ok');
    };
    const started = Date.now();
    await expect(withSendRetry(run({ attemptTimeoutMs: 100 }), attempt)).resolves.toBe('ok');
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[0]?.reason).toMatchObject({ reason: 'RELAY_UNREACHABLE' });
  });

  it('never outlives the total time, even when attempts hang', async () => {
    const started = Date.now();
    const hanging = (): Promise<string> => new Promise<string>(() => undefined);
    await expect(
      withSendRetry(run({ attempts: 100, attemptTimeoutMs: 10_000, totalTimeoutMs: 300 }), hanging),
    ).rejects.toMatchObject({ reason: 'RELAY_UNREACHABLE' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
