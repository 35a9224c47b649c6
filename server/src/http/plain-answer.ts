// Answers of the plain HTTP API (PROTOCOL §3.8): a success is the procedure's output as bare JSON,
// a failure `{ "error": { code, reason, message, retryAfterMs? } }` with the HTTP status tRPC gives
// the same error — both built from the relay's one error formatter, so the two APIs cannot disagree.
import type { ServerResponse } from 'node:http';
import type { TRPCError } from '@trpc/server';
import { relayErrorShape, retryAfterSeconds } from '../relay-error.js';

/** The body of a plain API failure. */
export interface PlainError {
  readonly error: {
    /** tRPC's code name (`NOT_FOUND`), as in tRPC's `data.code`. */
    readonly code: string;
    /** The catalogue's stable reason (contract/src/errors.ts). */
    readonly reason: string;
    readonly message: string;
    /** How long to wait before trying again, when the relay asks for a wait. */
    readonly retryAfterMs?: number;
  };
}

/** The plain form of `error` raised by the procedure at `path`, and its HTTP status. */
export function plainError(error: TRPCError, path: string): { status: number; body: PlainError } {
  const { message, data } = relayErrorShape(error, path);
  return {
    status: data.httpStatus,
    body: {
      error: {
        code: data.code,
        reason: data.reason,
        message,
        ...(data.retryAfterMs === undefined ? {} : { retryAfterMs: data.retryAfterMs }),
      },
    },
  };
}

/** Plain API answers are per caller (mailboxes, proofs): no cache may keep them. */
const COMMON_HEADERS = { 'cache-control': 'no-store' } as const;

export function writePlainJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.destroyed || res.headersSent) return;
  // `undefined` is no JSON text: an output the schema allows to be absent is written as null.
  const body = JSON.stringify(value ?? null);
  res.writeHead(status, {
    ...COMMON_HEADERS,
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Writes `error` (raised at `path`) with its status and, when it asks for a wait, Retry-After. */
export function writePlainError(
  res: ServerResponse,
  error: TRPCError,
  path: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  const { status, body } = plainError(error, path);
  const retryAfter = retryAfterSeconds([error]);
  writePlainJson(res, status, body, {
    ...headers,
    ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }),
  });
}
