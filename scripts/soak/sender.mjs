// Steady sends at a fixed rate, each a freshly sealed message to a random mailbox, retried with
// its own idempotency key until the relay answers it with an id — through Redis outages and the
// relay's restart — within a bound in attempts and in time. Every failed attempt is counted.
import { createRelayTransport } from '@deaddrop/client';
import { randomBytes, sealMessage, toB64u } from '@deaddrop/contract';
import { sleep } from '../bench-live-processes.mjs';

const ATTEMPT_TIMEOUT_MS = 5_000;
const MAX_ATTEMPTS = 40;
/** After this long a message still unanswered is given up (and counted as not acknowledged). */
const MESSAGE_DEADLINE_MS = 60_000;
const TICK_MS = 10;
/** Codes a retry with the same idempotency key can get past (the relay or its store was away). */
const RETRIED_CODES = new Set([
  'SERVICE_UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
  'TOO_MANY_REQUESTS',
  'TIMEOUT',
  'BAD_GATEWAY',
  'GATEWAY_TIMEOUT',
]);

function causes(error) {
  const chain = [];
  for (let cause = error; cause instanceof Error && chain.length < 8; cause = cause.cause) {
    chain.push(cause);
  }
  return chain;
}

/** A failed attempt's label (tRPC code and relay reason, or what broke on the wire) and whether to retry. */
export function classifySendError(error) {
  const data = error?.data;
  if (typeof data?.code === 'string') {
    const label = data.reason === undefined ? data.code : `${data.code} (${data.reason})`;
    return { label, retry: RETRIED_CODES.has(data.code), retryAfterMs: data.retryAfterMs };
  }
  const chain = causes(error);
  if (chain.some((cause) => cause.name === 'TimeoutError' || cause.name === 'AbortError')) {
    return { label: `no answer in ${ATTEMPT_TIMEOUT_MS / 1000} s`, retry: true };
  }
  const code = chain.find((cause) => typeof cause.code === 'string')?.code;
  if (code !== undefined) return { label: `network ${code}`, retry: true };
  return { label: `other: ${chain.at(-1)?.message ?? String(error)}`, retry: false };
}

/**
 * Sends `rate` messages a second for `seconds`, then waits for every send still retrying.
 * `ledger` learns each message when it is sealed and how it ended; `errors` counts failed attempts.
 */
export async function runSends(options) {
  const { relay, rate, seconds, maxInFlight, mailboxes, sender, tag, ledger, errors, stats } =
    options;
  const transport = createRelayTransport({
    relayUrl: relay.url,
    relayId: () => Promise.reject(new Error('send needs no proof')),
    maxBatchItems: 1,
  });
  const inFlight = new Set();
  const started = performance.now();

  const sendOne = async (seq) => {
    const mailbox = Math.floor(Math.random() * mailboxes.length);
    const to = mailboxes[mailbox];
    const { ciphertext } = sealMessage({
      from: sender.agentId,
      sender: sender.keys,
      to: to.agentId,
      recipient: to.keys,
      body: { soak: tag, seq, sealedAt: Date.now() },
    });
    ledger.sent(seq, mailbox, ciphertext);
    const input = { to: to.agentId, ciphertext, idempotencyKey: toB64u(randomBytes(16)) };
    const deadline = Date.now() + MESSAGE_DEADLINE_MS;
    let failure = 'no attempt';
    let attempt = 1;
    for (; attempt <= MAX_ATTEMPTS; attempt++) {
      stats.attempts += 1;
      try {
        const answer = await transport.send.mutate(input, {
          signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
        });
        ledger.acked(seq, answer, attempt, (performance.now() - started) / 1000);
        return;
      } catch (error) {
        const verdict = classifySendError(error);
        errors.add(verdict.label);
        failure = verdict.label;
        const delay = Math.max(
          Math.min(250 * 1.5 ** (attempt - 1), 2_000) * (0.75 + Math.random() / 2),
          verdict.retryAfterMs ?? 0,
        );
        if (!verdict.retry || Date.now() + delay > deadline) break;
        await sleep(delay);
      }
    }
    ledger.failed(seq, Math.min(attempt, MAX_ATTEMPTS), failure);
  };
  const sendGuarded = (seq) =>
    sendOne(seq).catch((error) => {
      errors.add(`soak script error: ${error.message}`);
      if (ledger.messages[seq] !== undefined) ledger.failed(seq, 0, 'soak script error');
    });

  stats.planned = Math.floor(seconds * rate);
  for (;;) {
    const elapsed = (performance.now() - started) / 1000;
    if (elapsed >= seconds) break;
    // Message n goes out at the start of its slot, n / rate seconds in.
    const due = Math.min(Math.floor(elapsed * rate) + 1, stats.planned);
    while (stats.launched < due && inFlight.size < maxInFlight) {
      const send = sendGuarded(stats.launched++);
      inFlight.add(send);
      stats.inFlight = inFlight.size;
      void send.finally(() => {
        inFlight.delete(send);
        stats.inFlight = inFlight.size;
      });
    }
    stats.maxLagMessages = Math.max(stats.maxLagMessages, due - stats.launched);
    await sleep(TICK_MS);
  }
  // Each is bounded by its own deadline.
  await Promise.all(inFlight);
}
