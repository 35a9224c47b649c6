// One mapping from whatever a relay call throws (tRPC error, network failure, garbage answer) to a
// DeadDropError whose reason is the relay's catalogue key when the relay gave one.
import { TRPCClientError } from '@trpc/client';
import { isRelayErrorReason, relayErrors } from '@deaddrop/contract';
import { DeadDropError } from './errors.js';

interface ErrorData {
  readonly reason?: unknown;
  readonly httpStatus?: unknown;
  readonly retryAfterMs?: unknown;
}

export function toDeadDropError(error: unknown, relayUrl: string): DeadDropError {
  if (error instanceof DeadDropError) return error;
  if (!(error instanceof TRPCClientError)) {
    return new DeadDropError('RELAY_ERROR', `relay call failed: ${messageOf(error)}`, {
      cause: error,
    });
  }
  // Thrown by our own code inside a link (e.g. the headers callback), wrapped by tRPC.
  if (error.cause instanceof DeadDropError) return error.cause;

  const data = error.data as ErrorData | undefined;
  const httpStatus = typeof data?.httpStatus === 'number' ? data.httpStatus : undefined;
  const retryAfterMs = typeof data?.retryAfterMs === 'number' ? data.retryAfterMs : undefined;
  if (data !== undefined && isRelayErrorReason(data.reason)) {
    const message = error.message.length > 0 ? error.message : relayErrors[data.reason].message;
    return new DeadDropError(data.reason, message, { cause: error, httpStatus, retryAfterMs });
  }
  if (error.shape !== undefined) {
    return new DeadDropError('RELAY_ERROR', `the relay at ${relayUrl} refused: ${error.message}`, {
      cause: error,
      httpStatus,
    });
  }
  if (isNetworkFailure(error.cause)) {
    return new DeadDropError(
      'RELAY_UNREACHABLE',
      `cannot reach the relay at ${relayUrl} (${networkDetail(error.cause)}); check --server or DEADDROP_SERVER_URL`,
      { cause: error },
    );
  }
  return new DeadDropError(
    'RELAY_INVALID_RESPONSE',
    `the server at ${relayUrl} did not answer as a DeadDrop relay (${error.message})`,
    { cause: error },
  );
}

/** undici reports connection failures as `TypeError: fetch failed` with the socket error as cause. */
function isNetworkFailure(cause: unknown): boolean {
  return cause instanceof TypeError && /fetch failed|network/i.test(cause.message);
}

function networkDetail(cause: unknown): string {
  const inner = cause instanceof Error ? cause.cause : undefined;
  if (inner instanceof Error) {
    const code = (inner as { code?: unknown }).code;
    return typeof code === 'string' ? code : inner.message;
  }
  return messageOf(cause);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
