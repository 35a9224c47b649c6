// The outcome of each `send` a fault test makes, classified (acknowledged, refused by the relay,
// cut by the network, aborted at the client's bound), and the summaries printed from them.
import { TRPCClientError } from '@trpc/client';
import type { AppRouter } from '@deaddrop/contract';

export interface AttemptTiming {
  /** The logical send (its idempotency key); retries share it. */
  readonly n: number;
  readonly mailbox: number;
  readonly startedAt: number;
  readonly ms: number;
}

export type AttemptFailure =
  | { readonly kind: 'refused'; readonly status: number; readonly reason: string }
  | { readonly kind: 'network' | 'timeout' | 'other'; readonly error: string };

export type Attempt = AttemptTiming &
  ({ readonly kind: 'acked'; readonly id: string; readonly duplicate: boolean } | AttemptFailure);

/** What went wrong with a send: the relay's answer, the connection, or the client's own bound. */
export function classifyFailure(error: unknown): AttemptFailure {
  if (error instanceof TRPCClientError) {
    const data = (error as TRPCClientError<AppRouter>).data;
    if (data !== undefined && data !== null) {
      return { kind: 'refused', status: data.httpStatus, reason: data.reason };
    }
    const cause: unknown = error.cause;
    if (cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError')) {
      return { kind: 'timeout', error: cause.name };
    }
    if (cause instanceof TypeError) return { kind: 'network', error: String(cause) };
  }
  return { kind: 'other', error: String(error) };
}

/** `acked`, `503 STORE_UNAVAILABLE`, `network`, … */
function attemptLabel(attempt: Attempt): string {
  switch (attempt.kind) {
    case 'acked':
      return 'acked';
    case 'refused':
      return `${String(attempt.status)} ${attempt.reason}`;
    case 'network':
    case 'timeout':
    case 'other':
      return attempt.kind;
  }
}

/** `503 STORE_UNAVAILABLE ×12, timeout ×1`, acknowledged attempts left out. */
export function failuresByLabel(attempts: readonly Attempt[]): string {
  const counts = new Map<string, number>();
  for (const attempt of attempts) {
    if (attempt.kind !== 'acked') {
      counts.set(attemptLabel(attempt), (counts.get(attemptLabel(attempt)) ?? 0) + 1);
    }
  }
  return [...counts].map(([label, count]) => `${label} ×${String(count)}`).join(', ') || 'none';
}

/** Outcomes per second from `origin`, `marked` mailboxes apart from the rest: for failure messages. */
export function attemptTimeline(
  attempts: readonly Attempt[],
  origin: number,
  marked: ReadonlySet<number>,
): string {
  const rows = new Map<number, Map<string, number>>();
  for (const attempt of attempts) {
    const second = Math.floor((attempt.startedAt - origin) / 1000);
    const row = second * 2 + (marked.has(attempt.mailbox) ? 1 : 0);
    const counts = rows.get(row) ?? new Map<string, number>();
    counts.set(attemptLabel(attempt), (counts.get(attemptLabel(attempt)) ?? 0) + 1);
    rows.set(row, counts);
  }
  return [...rows]
    .sort(([a], [b]) => a - b)
    .map(([row, counts]) => {
      const second = Math.floor(row / 2);
      const group = row % 2 === 0 ? 'others' : 'marked';
      const outcomes = [...counts].map(([label, count]) => `${label} ×${String(count)}`);
      return `${String(second).padStart(4)} s ${group}: ${outcomes.join(', ')}`;
    })
    .join('\n');
}
