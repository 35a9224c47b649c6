// sendMany (PROTOCOL §8): the whole request's byte limit, then every item through `send`'s own
// path (sendMessage: size → recipient → idempotency → quota, rate limits per item), all at once —
// on Redis the appends share the connection's pipeline, on the embedded store one group commit —
// and each item's failure answered as `send` would have raised it.
import {
  b64uDecodedLength,
  type SendManyInput,
  type SendManyItemResult,
  type SendManyResult,
  type SendResult,
} from '@deaddrop/contract';
import { TRPCError } from '@trpc/server';
import { RelayFault, relayErrorShape, toTRPCError } from '../relay-error.js';
import type { RelayServices } from '../services.js';
import { StoreUnavailableError } from '../store/mailbox-store.js';
import { sendMessage, type SendOrigin } from './send.js';

export async function sendMany(
  services: RelayServices,
  input: SendManyInput,
  origin: SendOrigin,
): Promise<SendManyResult> {
  let bytes = 0;
  for (const item of input.items) bytes += b64uDecodedLength(item.ciphertext);
  const max = services.limits.maxBatchBytes;
  if (bytes > max)
    throw new RelayFault(
      'BAD_INPUT',
      `the ciphertexts add up to ${bytes} bytes; this relay accepts at most ${max} in one sendMany`,
    );
  // Every append is issued before any is awaited: that is what makes one sendMany cheaper than as
  // many sends (the store batches them), and one item's failure never stops another.
  const outcomes = await Promise.all(
    input.items.map((item) => itemOutcome(sendMessage(services, item, origin), item.to)),
  );
  // A store that failed every item is down, not refusing them: the request is one 503 the client
  // retries whole, as a send's would be. Items that failed beside stored ones are answered each.
  if (outcomes.every((outcome) => !outcome.ok && isStoreOutage(outcome.error)))
    throw new RelayFault('STORE_UNAVAILABLE');
  return {
    results: outcomes.map((outcome) =>
      outcome.ok
        ? { to: outcome.to, ok: true, ...outcome.result }
        : refusal(outcome.to, outcome.error),
    ),
  };
}

type ItemOutcome =
  | { readonly to: string; readonly ok: true; readonly result: SendResult }
  | { readonly to: string; readonly ok: false; readonly error: unknown };

function itemOutcome(sending: Promise<SendResult>, to: string): Promise<ItemOutcome> {
  return sending.then(
    (result) => ({ to, ok: true, result }),
    (error: unknown) => ({ to, ok: false, error }),
  );
}

function isStoreOutage(cause: unknown): boolean {
  return (
    cause instanceof StoreUnavailableError ||
    (cause instanceof TRPCError && cause.cause instanceof StoreUnavailableError)
  );
}

/**
 * A catalogued failure as the item's result, with the code, reason and message `send` would have
 * answered (the relay's own error formatter). Anything else is a relay bug: it fails the request,
 * as it would a `send`, rather than hiding inside a result.
 */
function refusal(to: string, cause: unknown): SendManyItemResult {
  const error = toTRPCError(cause);
  if (error.code === 'INTERNAL_SERVER_ERROR') throw error;
  const shape = relayErrorShape(error, 'sendMany');
  return {
    to,
    ok: false,
    code: shape.data.code,
    reason: shape.data.reason,
    message: shape.message,
  };
}
