// send (PROTOCOL §3): schema and encoding (zod) → size → recipient → idempotency → quota, the last
// three in the store's single atomic append.
import {
  b64uDecodedLength,
  randomBytes,
  sha256Hex,
  toB64u,
  type SendInput,
  type SendResult,
} from '@deaddrop/contract';
import { sendRateLimited } from '../limits/request-limiter.js';
import { RelayFault } from '../relay-error.js';
import type { RelayServices } from '../services.js';

/** Who asked: the client address the per-sender rate limit counts. */
export interface SendOrigin {
  readonly clientIp: string;
}

// Keys the relay makes itself need only be unique, not secret: a per-process random tag and a
// counter, instead of a CSPRNG call per send.
const relayKeyTag = toB64u(randomBytes(12));
let relayKeyCount = 0;
const RELAY_KEY_HASH = 'relay-key';

/**
 * One message into one mailbox, checked and stored; a refusal is thrown as its RelayFault. The one
 * per-message path: `sendMany` calls it for each of its items.
 */
export async function sendMessage(
  services: RelayServices,
  input: SendInput,
  origin: SendOrigin,
): Promise<SendResult> {
  const bytes = b64uDecodedLength(input.ciphertext);
  const max = services.limits.maxMessageBytes;
  if (bytes > max)
    throw new RelayFault('MESSAGE_TOO_LARGE', `${bytes} bytes; this relay accepts at most ${max}`);
  const outcome = await services.store.append({
    agentId: input.to,
    ciphertext: input.ciphertext,
    bytes,
    // Without a client key a fresh one still guards against a store command re-sent after a blip.
    idempotencyKey: input.idempotencyKey ?? `${relayKeyTag}.${(relayKeyCount++).toString(36)}`,
    // Only a client's key can meet a different message; a relay-made key meets at most a re-sent
    // copy of its own command, so its hash need not be computed.
    ciphertextHash:
      input.idempotencyKey === undefined ? RELAY_KEY_HASH : sha256Hex(input.ciphertext),
    rate: services.limiter.appendRate(origin.clientIp),
  });
  // Under a relay-made key a duplicate is this very request's command, stored by its first run
  // and re-sent by ioredis after a blip: to the client (who sent once) it is a plain store.
  const storedNow =
    outcome.status === 'stored' ||
    (outcome.status === 'duplicate' && input.idempotencyKey === undefined);
  if (storedNow) services.metrics.messageStored();
  // The notice leaves on a later turn of the event loop, after this answer: never awaited here.
  if (outcome.status === 'stored' && outcome.hooked)
    services.webhooks.mailStored(input.to, outcome.id);
  switch (outcome.status) {
    case 'stored':
    case 'duplicate':
      return {
        id: outcome.id,
        receivedAt: outcome.receivedAt,
        expiresAt: outcome.expiresAt,
        duplicate: !storedNow,
      };
    case 'no-mailbox':
      throw new RelayFault('AGENT_NOT_FOUND', `"${input.to}"`);
    case 'conflict':
      throw new RelayFault('IDEMPOTENCY_CONFLICT');
    case 'full':
      throw new RelayFault(
        'MAILBOX_FULL',
        `${outcome.count} messages waiting (limit ${services.limits.maxMessages})`,
      );
    case 'rate-limited':
      throw sendRateLimited(outcome.limit, services.rateLimits, outcome.retryAfterMs);
  }
}
