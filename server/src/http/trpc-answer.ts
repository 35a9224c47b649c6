// Answers to queries and mutations in tRPC's HTTP wire format, written by the relay's own handlers
// (the procedure lane, the admission check in front of tRPC's adapter) exactly as the adapter
// writes them: superjson bodies, one envelope per call (an array for a batch), one status when
// every call agrees and 207 when they differ, Retry-After when a call asks for a wait.
import type { ServerResponse } from 'node:http';
import { TRPCError } from '@trpc/server';
import superjson from 'superjson';
import type { Logger } from '../log.js';
import { relayErrorShape, retryAfterSeconds } from '../relay-error.js';

export type CallOutcome = { readonly ok: true; readonly data: unknown } | TRPCError;

export function writeCallAnswers(
  res: ServerResponse,
  call: { readonly paths: readonly string[]; readonly batch: boolean },
  outcomes: readonly CallOutcome[],
  log: Pick<Logger, 'debug'>,
): void {
  if (res.destroyed) return;
  const statuses = new Set<number>();
  const envelopes = outcomes.map((outcome, index) => {
    if (outcome instanceof TRPCError) {
      // The client's mistake in a parser's words: for the log, not the answer.
      if (outcome.cause !== undefined && outcome.code !== 'INTERNAL_SERVER_ERROR')
        log.debug('call refused', { error: outcome.cause.message });
      const shape = relayErrorShape(outcome, call.paths[index] ?? '');
      statuses.add(shape.data.httpStatus);
      return { error: superjson.serialize(shape) };
    }
    statuses.add(200);
    return { result: { data: superjson.serialize(outcome.data) } };
  });
  const status = statuses.size === 1 ? ([...statuses][0] ?? 200) : 207;
  const body = JSON.stringify(call.batch ? envelopes : envelopes[0]);
  const retryAfter = retryAfterSeconds(outcomes);
  res.writeHead(status, {
    vary: 'trpc-accept, accept',
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }),
  });
  res.end(body);
}
