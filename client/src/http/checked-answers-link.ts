// Two links every request/response call passes through, nearest the caller: a deadline (a relay
// that never answers, or answers forever, fails the call instead of hanging it) and the answer
// check (relay-answers.ts). Both fail the call with a DeadDropError, which tRPC carries as the
// cause of its TRPCClientError and toDeadDropError hands back unchanged.
import { TRPCClientError, type TRPCLink } from '@trpc/client';
import { observable, type Unsubscribable } from '@trpc/server/observable';
import type { AppRouter } from '@deaddrop/contract';
import { DeadDropError } from '../errors.js';
import { checkRelayAnswer } from './relay-answers.js';

export interface CheckedAnswersOptions {
  /** For error messages. */
  readonly relayUrl: string;
  /** How long a call may take before it is abandoned; a long-poll gets its `waitMs` on top. */
  readonly timeoutMs: number;
}

/** What a long-poll asks the relay to wait, else 0. */
export function longPollWaitMs(op: { readonly path: string; readonly input: unknown }): number {
  if (op.path !== 'poll' || typeof op.input !== 'object' || op.input === null) return 0;
  const { waitMs } = op.input as { waitMs?: unknown };
  return typeof waitMs === 'number' && Number.isFinite(waitMs) && waitMs > 0 ? waitMs : 0;
}

function failure(error: DeadDropError): TRPCClientError<AppRouter> {
  return TRPCClientError.from(error);
}

export function checkedAnswersLink(options: CheckedAnswersOptions): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        // Subscriptions are long-lived and check each item where it is read (inbox-session.ts).
        if (op.type === 'subscription') return next(op).subscribe(observer);
        const budgetMs = options.timeoutMs + longPollWaitMs(op);
        // Filled in once subscribed; a synchronous answer may arrive before that.
        const link: { downstream?: Unsubscribable } = {};
        let settled = false;
        const settle = (): boolean => {
          if (settled) return false;
          settled = true;
          clearTimeout(timer);
          return true;
        };
        const timer = setTimeout(() => {
          if (!settle()) return;
          // Unsubscribing aborts the HTTP request underneath.
          link.downstream?.unsubscribe();
          observer.error(
            failure(
              new DeadDropError(
                'RELAY_UNREACHABLE',
                `no answer from the relay at ${options.relayUrl} within ${budgetMs} ms (${op.path})`,
              ),
            ),
          );
        }, budgetMs);
        link.downstream = next(op).subscribe({
          next(envelope) {
            const { result } = envelope;
            if (settled) return;
            // A query or mutation answers with data, nothing else: tRPC would hand any other
            // result type's `data` to the caller unchecked (and untransformed).
            const checked =
              result.type === undefined || result.type === 'data'
                ? checkRelayAnswer(op.path, op.input, result.data)
                : ({ ok: false, problem: `its ${op.path} answer is not data` } as const);
            if (!checked.ok) {
              settle();
              link.downstream?.unsubscribe();
              observer.error(
                failure(
                  new DeadDropError(
                    checked.reason ?? 'RELAY_INVALID_RESPONSE',
                    `the relay at ${options.relayUrl} misbehaved: ${checked.problem}`,
                  ),
                ),
              );
              return;
            }
            observer.next({ ...envelope, result: { type: 'data', data: checked.data } });
          },
          error(error) {
            if (settle()) observer.error(error);
          },
          complete() {
            if (settle()) observer.complete();
          },
        });
        return () => {
          settle();
          link.downstream?.unsubscribe();
        };
      });
}
