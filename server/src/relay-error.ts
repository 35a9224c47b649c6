// One mapping from the contract's error catalogue to tRPC errors, and from any thrown value to the
// error shape clients see. Unknown failures become INTERNAL_SERVER_ERROR with a generic message;
// their detail stays in the relay's log.
import { TRPCError, type TRPCDefaultErrorShape } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { relayErrors, type RelayErrorReason, type RelayErrorShape } from '@deaddrop/contract';
import { StoreUnavailableError } from './store/mailbox-store.js';

/** A catalogued relay failure. `detail` refines the catalogue message with facts the user can act on. */
export class RelayFault extends TRPCError {
  readonly reason: RelayErrorReason;
  readonly retryAfterMs: number | undefined;

  constructor(
    reason: RelayErrorReason,
    detail?: string,
    options: { retryAfterMs?: number; cause?: unknown } = {},
  ) {
    const entry = relayErrors[reason];
    super({
      code: entry.code,
      message: detail === undefined ? entry.message : `${entry.message}: ${detail}`,
      cause: options.cause,
    });
    this.reason = reason;
    this.retryAfterMs = options.retryAfterMs;
  }
}

const reasonByCode: Partial<Record<TRPCError['code'], RelayErrorReason>> = {
  BAD_REQUEST: 'BAD_INPUT',
  PARSE_ERROR: 'BAD_INPUT',
  PAYLOAD_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  UNAUTHORIZED: 'AUTH_MISSING',
  NOT_FOUND: 'UNKNOWN_PROCEDURE',
  METHOD_NOT_SUPPORTED: 'METHOD_NOT_ALLOWED',
  SERVICE_UNAVAILABLE: 'STORE_UNAVAILABLE',
};

interface FormatInput {
  readonly error: TRPCError;
  readonly shape: TRPCDefaultErrorShape;
}

/** The relay's tRPC error formatter: adds the catalogue reason and never leaks stacks or paths. */
export function formatRelayError({ error, shape }: FormatInput): RelayErrorShape {
  const fault = classify(error);
  const data: RelayErrorShape['data'] = {
    code: shape.data.code,
    httpStatus: shape.data.httpStatus,
    reason: fault.reason,
    ...(shape.data.path === undefined ? {} : { path: shape.data.path }),
    ...(fault.retryAfterMs === undefined ? {} : { retryAfterMs: fault.retryAfterMs }),
  };
  return { code: shape.code, message: fault.message, data };
}

function classify(error: TRPCError): {
  reason: RelayErrorReason;
  message: string;
  retryAfterMs?: number;
} {
  if (error instanceof RelayFault) {
    return {
      reason: error.reason,
      message: error.message,
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    };
  }
  if (error.cause instanceof StoreUnavailableError) {
    return { reason: 'STORE_UNAVAILABLE', message: relayErrors.STORE_UNAVAILABLE.message };
  }
  if (error.code === 'INTERNAL_SERVER_ERROR') {
    return { reason: 'INTERNAL', message: relayErrors.INTERNAL.message };
  }
  const issues = validationIssues(error.cause);
  if (issues === null && error.cause instanceof Error && !(error.cause instanceof TRPCError)) {
    // A parser's or runtime's own words ("Unexpected token…", "Maximum call stack size exceeded",
    // "Cannot destructure property 'json'…") say nothing a client can act on and reveal the
    // relay's insides: the answer is generic for the code, the detail goes to the log.
    return { reason: reasonByCode[error.code] ?? 'BAD_INPUT', message: genericMessage(error.code) };
  }
  if (issues !== null) {
    const ciphertext = issues.some((issue) => issue.path[0] === 'ciphertext');
    const text = issues.map((issue) =>
      issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
    );
    return {
      reason: ciphertext ? 'BAD_CIPHERTEXT' : 'BAD_INPUT',
      message: `invalid input: ${text.join('; ')}`,
    };
  }
  // tRPC's own messages (body too large, unknown procedure, bad JSON) are safe and precise.
  return { reason: reasonByCode[error.code] ?? 'BAD_INPUT', message: error.message };
}

/** What a client is told for a failure whose detail is not its business. */
function genericMessage(code: TRPCError['code']): string {
  if (code === 'PARSE_ERROR' || code === 'BAD_REQUEST')
    return 'invalid input: the request could not be read (it must be JSON in tRPC’s superjson format)';
  const reason = reasonByCode[code];
  return reason === undefined ? `request failed (${code})` : relayErrors[reason].message;
}

interface ValidationIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

function pathSegment(part: unknown): string {
  // Standard Schema allows `{ key }` path segments beside plain keys.
  if (typeof part === 'object' && part !== null && 'key' in part) return String(part.key);
  return String(part);
}

/** Issues of a failed input validation (zod or any Standard Schema), else null. */
function validationIssues(cause: unknown): readonly ValidationIssue[] | null {
  if (
    typeof cause !== 'object' ||
    cause === null ||
    !('issues' in cause) ||
    !Array.isArray(cause.issues)
  )
    return null;
  const issues: unknown[] = cause.issues;
  return issues.slice(0, 5).map((issue) => {
    const record = (typeof issue === 'object' && issue !== null ? issue : {}) as {
      path?: unknown;
      message?: unknown;
    };
    return {
      path: Array.isArray(record.path) ? record.path.map(pathSegment) : [],
      message: typeof record.message === 'string' ? record.message : 'invalid value',
    };
  });
}

/** Turns store failures thrown inside a handler into the catalogue's 503. */
function toRelayFault(cause: unknown): unknown {
  if (cause instanceof StoreUnavailableError)
    return new RelayFault('STORE_UNAVAILABLE', undefined, { cause });
  return cause;
}

/** Any thrown value as the TRPCError a client sees: store outages → 503, the unknown → 500. */
export function toTRPCError(cause: unknown): TRPCError {
  const error = toRelayFault(cause);
  return error instanceof TRPCError
    ? error
    : new RelayFault('INTERNAL', undefined, { cause: error });
}

/**
 * The `Retry-After` value (whole seconds) for a response carrying `errors`: the longest wait any
 * of them asks for, or undefined when none does.
 */
export function retryAfterSeconds(errors: readonly unknown[]): number | undefined {
  let longest = 0;
  for (const error of errors)
    if (error instanceof RelayFault && error.retryAfterMs !== undefined)
      longest = Math.max(longest, error.retryAfterMs);
  return longest > 0 ? Math.ceil(longest / 1000) : undefined;
}

/**
 * The error shape tRPC itself would send for `error` at `path` (its default shape, never a stack:
 * `isDev` is off, then the relay's formatter), for the paths served beside tRPC.
 */
export function relayErrorShape(error: TRPCError, path: string): RelayErrorShape {
  return formatRelayError({
    error,
    shape: {
      message: error.message,
      code: TRPC_ERROR_CODES_BY_KEY[error.code],
      data: { code: error.code, httpStatus: getHTTPStatusCodeFromError(error), path },
    },
  });
}
