// Relay errors as the hostile relay writes them: catalogue entries as specs, and specs as the exact
// shape the real relay's error formatter produces (server/src/relay-error.ts relayErrorShape).
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { relayErrors, type RelayErrorReason } from '@deaddrop/contract';
import superjson from 'superjson';
import type { RelayErrorSpec } from './hostile-relay-behaviours.js';

/** tRPC's code for errors it cannot name (INTERNAL_SERVER_ERROR). */
const UNKNOWN_JSON_RPC_CODE = -32603;

/** A catalogue error as the real relay sends it; `detail` is appended after a colon, as it does. */
export function relayFault(
  reason: RelayErrorReason,
  detail?: string,
  options: { readonly retryAfterMs?: number } = {},
): RelayErrorSpec {
  const entry = relayErrors[reason];
  return {
    code: entry.code,
    httpStatus: getHTTPStatusCodeFromError(new TRPCError({ code: entry.code })),
    reason,
    message: detail === undefined ? entry.message : `${entry.message}: ${detail}`,
    ...(options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs }),
  };
}

/** A tRPC-level error (unknown path, wrong method, bad JSON): reason BAD_INPUT, as the relay says. */
export function trpcFault(code: keyof typeof TRPC_ERROR_CODES_BY_KEY, message: string) {
  return {
    code,
    httpStatus: getHTTPStatusCodeFromError(new TRPCError({ code })),
    reason: 'BAD_INPUT',
    message,
  } satisfies RelayErrorSpec;
}

function jsonRpcCode(spec: RelayErrorSpec): number {
  if (spec.jsonRpcCode !== undefined) return spec.jsonRpcCode;
  const known: Readonly<Record<string, number>> = TRPC_ERROR_CODES_BY_KEY;
  return Object.hasOwn(known, spec.code)
    ? (known[spec.code] ?? UNKNOWN_JSON_RPC_CODE)
    : UNKNOWN_JSON_RPC_CODE;
}

/** The error shape (before superjson), fields in the order the relay's formatter writes them. */
export function errorShape(spec: RelayErrorSpec, path: string) {
  return {
    code: jsonRpcCode(spec),
    message: spec.message,
    data: {
      code: spec.code,
      httpStatus: spec.httpStatus,
      reason: spec.reason,
      path,
      ...(spec.retryAfterMs === undefined ? {} : { retryAfterMs: spec.retryAfterMs }),
    },
  };
}

/** `{"error": <superjson shape>}`, the body of a refused call or one entry of a batch. */
export function errorEnvelope(spec: RelayErrorSpec, path: string) {
  return { error: superjson.serialize(errorShape(spec, path)) };
}

/** Validation issues (zod's) as the relay's message: the first five, `path: message` each. */
export function invalidInput(issues: readonly { path: PropertyKey[]; message: string }[]) {
  const text = issues
    .slice(0, 5)
    .map((issue) =>
      issue.path.length > 0
        ? `${issue.path.map(String).join('.')}: ${issue.message}`
        : issue.message,
    );
  const ciphertext = issues.some((issue) => issue.path[0] === 'ciphertext');
  return relayFaultWithMessage(
    ciphertext ? 'BAD_CIPHERTEXT' : 'BAD_INPUT',
    `invalid input: ${text.join('; ')}`,
  );
}

function relayFaultWithMessage(reason: RelayErrorReason, message: string): RelayErrorSpec {
  return { ...relayFault(reason), message };
}
