// Steady sends at a fixed rate, each a freshly sealed message to a random mailbox, retried with
// its own idempotency key until the relay answers it with an id — through Redis outages and the
// relay's restart — within a bound in attempts and in time. Every failed attempt is counted.
import { setTimeout as sleep } from 'node:timers/promises';
import { createRelayTransport } from '@deaddrop/client';
import { randomBytes, sealMessage, toB64u } from '@deaddrop/contract';
import { errorMessage } from '../load-support/error-message.js';
import { jsonAt } from '../load-support/http-json.js';
import type { Ledger } from './ledger.js';
import type { SoakAgent } from './mailboxes.js';
import type { SoakRelay } from './relay-process.js';
import type { Tally } from './tally.js';

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

/** The sender's progress, read by the progress line and the report. */
export interface SendStats {
  planned: number;
  launched: number;
  attempts: number;
  inFlight: number;
  /** The most messages ever due but not launched yet (the sender falling behind). */
  maxLagMessages: number;
}

export interface SendVerdict {
  readonly label: string;
  readonly retry: boolean;
  readonly retryAfterMs?: number;
}

function causes(error: unknown): Error[] {
  const chain: Error[] = [];
  for (let cause = error; cause instanceof Error && chain.length < 8; cause = cause.cause) {
    chain.push(cause);
  }
  return chain;
}

/** A failed attempt's label (tRPC code and relay reason, or what broke on the wire) and whether to retry. */
function classifySendError(error: unknown): SendVerdict {
  const code = jsonAt(error, ['data', 'code']);
  if (typeof code === 'string') {
    const reason = jsonAt(error, ['data', 'reason']);
    const retryAfterMs = jsonAt(error, ['data', 'retryAfterMs']);
    return {
      label: typeof reason === 'string' ? `${code} (${reason})` : code,
      retry: RETRIED_CODES.has(code),
      ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}),
    };
  }
  const chain = causes(error);
  if (chain.some((cause) => cause.name === 'TimeoutError' || cause.name === 'AbortError')) {
    return { label: `no answer in ${ATTEMPT_TIMEOUT_MS / 1000} s`, retry: true };
  }
  const wireCode = chain
    .map((cause) => (cause as NodeJS.ErrnoException).code)
    .find((value) => typeof value === 'string');
  if (wireCode !== undefined) return { label: `network ${wireCode}`, retry: true };
  return { label: `other: ${chain.at(-1)?.message ?? String(error)}`, retry: false };
}

export interface SendRun {
  readonly relay: SoakRelay;
  readonly rate: number;
  readonly seconds: number;
  readonly maxInFlight: number;
  readonly mailboxes: readonly SoakAgent[];
  readonly sender: SoakAgent;
  readonly tag: string;
  readonly ledger: Ledger;
  /** Failed attempts by label. */
  readonly errors: Tally;
  readonly stats: SendStats;
}

/** Sends `rate` messages a second for `seconds`, then waits for every send still retrying. */
export async function runSends(run: SendRun): Promise<void> {
  const { relay, rate, seconds, maxInFlight, mailboxes, sender, tag, ledger, errors, stats } = run;
  const transport = createRelayTransport({
    relayUrl: relay.url,
    relayId: () => Promise.reject(new Error('send needs no proof')),
    maxBatchItems: 1,
  });
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();

  const sendOne = async (seq: number): Promise<void> => {
    const mailbox = Math.floor(Math.random() * mailboxes.length);
    const to = mailboxes[mailbox];
    if (to === undefined) throw new Error('no mailboxes');
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
  const sendGuarded = (seq: number): Promise<void> =>
    sendOne(seq).catch((error: unknown) => {
      errors.add(`soak script error: ${errorMessage(error)}`);
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
