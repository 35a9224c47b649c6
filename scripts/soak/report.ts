// The soak's verdict: what was sent and acknowledged, what the live subscribers and a final poll
// got, every failed send attempt by code, reconnects, what was broken and when; and PASS or FAIL.
import type { ChaosDone } from './chaos.js';
import type { Ledger } from './ledger.js';
import type { ConnectionEvents, SubscriberKinds } from './live-subscribers.js';
import type { OwnRedis } from './redis-server.js';
import type { SoakRelay } from './relay-process.js';
import type { SendStats } from './sender.js';
import type { Tally } from './tally.js';
import type { LiveVerdict, StoredVerdict } from './verdicts.js';

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;

export interface RunVerdict {
  /** Each a line; none means PASS. */
  readonly problems: string[];
  readonly lost: Set<number>;
  readonly duplicated: Set<number>;
}

/** The problems that make the run fail. */
export function failures({
  ledger,
  live,
  stored,
  relay,
  redis,
  events,
}: {
  ledger: Ledger;
  live: LiveVerdict;
  stored: StoredVerdict;
  relay: SoakRelay;
  redis: OwnRedis;
  events: ConnectionEvents;
}): RunVerdict {
  const problems: string[] = [];
  const lost = new Set([...live.lostMessages, ...stored.lostMessages]);
  const duplicated = new Set([...live.duplicatedMessages, ...stored.duplicatedMessages]);
  if (ledger.counts.acked === 0) problems.push('no message was acknowledged');
  if (lost.size > 0) problems.push(`${plural(lost.size, 'acknowledged message')} lost`);
  if (duplicated.size > 0) problems.push(`${plural(duplicated.size, 'message')} duplicated`);
  if (live.idMismatch + stored.idMismatch > 0) {
    problems.push(
      `${live.idMismatch + stored.idMismatch} delivered under another id than acknowledged`,
    );
  }
  if (live.outOfOrder > 0) problems.push(`${live.outOfOrder} live deliveries out of id order`);
  if (live.unknown + stored.unknown > 0) {
    problems.push(`${live.unknown + stored.unknown} messages the soak never sent`);
  }
  if (stored.wrongMailbox > 0) problems.push(`${stored.wrongMailbox} stored in the wrong mailbox`);
  if (live.unreadable > 0) problems.push(`${live.unreadable} SDK entries unreadable`);
  if (events.sdk.ended.total() > 0) problems.push('an SDK subscription ended by itself');
  for (const exit of [...relay.unexpectedExits, ...redis.unexpectedExits]) problems.push(exit);
  return { problems, lost, duplicated };
}

/** Acknowledged messages every subscriber of their mailbox received exactly once. */
function ackedDeliveredEverywhere(ledger: Ledger): number {
  const bad = new Set<number>();
  const reached = new Set<number>();
  for (const subscriber of ledger.subscribers) {
    for (const seq of ledger.seqsOf(subscriber.mailbox)) {
      if (ledger.messages[seq]?.state !== 'acked') continue;
      const seen = subscriber.received.get(seq);
      if (seen?.count === 1) reached.add(seq);
      else bad.add(seq);
    }
  }
  let count = 0;
  for (const seq of reached) if (!bad.has(seq)) count += 1;
  return count;
}

export interface SoakReport {
  readonly kinds: SubscriberKinds;
  readonly sendStats: SendStats;
  readonly ledger: Ledger;
  readonly live: LiveVerdict;
  readonly stored: StoredVerdict;
  readonly chaos: readonly ChaosDone[];
  readonly events: ConnectionEvents;
  readonly relay: SoakRelay;
  readonly errors: Tally;
  readonly verdict: RunVerdict;
}

export function printReport(report: SoakReport): void {
  const { kinds, sendStats, ledger, live, stored, chaos, events, relay, errors, verdict } = report;
  const { counts } = ledger;
  const acked = ledger.messages.filter((m) => m.state === 'acked');
  const duplicateAnswers = acked.filter((m) => m.duplicateAnswer);
  const retried = acked.filter((m) => m.attempts > 1).length;
  const deliveredEverywhere = live.expected === 0 ? 0 : ackedDeliveredEverywhere(ledger);
  console.log('\nresult');
  console.log(
    `  messages: ${counts.sent} sent / ${counts.acked} acknowledged / ${deliveredEverywhere} delivered ` +
      `/ ${verdict.lost.size} lost / ${verdict.duplicated.size} duplicated ` +
      `(${counts.failed} not acknowledged within the retry bound; planned ${sendStats.planned})`,
  );
  console.log(
    `  sends: ${sendStats.attempts} attempts; ${retried} acknowledged after a retry, ` +
      `${duplicateAnswers.length} of them answered duplicate: true (stored by an earlier attempt ` +
      `whose answer was lost); most launches behind schedule: ${sendStats.maxLagMessages}`,
  );
  console.log(`  failed send attempts by code: ${errors.describe()}`);
  const gaps = ledger.ackGaps(1).map(([from, to]) => `${from.toFixed(1)}–${to.toFixed(1)} s`);
  console.log(`  no acknowledgement for over 1 s: ${gaps.join(', ') || 'never'}`);
  console.log(
    `  live: ${live.expected} deliveries expected (acknowledged messages x subscribers of their ` +
      `mailbox): ${live.exactlyOnce} exactly once, ${live.missing} missing, ${live.extraCopies} extra ` +
      `copies (${live.sameIdAgain} same id again, ${live.otherIdCopies} under another id), ` +
      `${live.idMismatch} under another id than acknowledged, ${live.outOfOrder} out of order, ` +
      `${live.unknown} unknown; ${live.unackedDelivered} deliveries of unacknowledged messages`,
  );
  console.log(
    `  poll at the end: ${stored.stored} stored; of ${stored.acked} acknowledged: ${stored.missing} ` +
      `missing, ${stored.storedTwice} stored twice, ${stored.idMismatch} under another id; ` +
      `${stored.storedUnacked} unacknowledged but stored, ${stored.unknown} unknown`,
  );
  console.log(
    `  raw SSE (${kinds.raw} streams): ${events.raw.lost.total()} streams lost ` +
      `(${events.raw.lost.describe()}); ${events.raw.attempts} reconnect attempts, ` +
      `${events.raw.refused.total()} refused or failed (${events.raw.refused.describe()}); ` +
      `other: ${events.raw.other.describe()}`,
  );
  console.log(
    `  SDK subscribe() (${kinds.sdk} subscriptions): ${events.sdk.reconnecting.total()} ` +
      `reconnecting notices (${events.sdk.reconnecting.describe()}); unverified entries: ` +
      `${events.sdk.unverified.describe()}; unreadable: ${events.sdkUnreadable.describe()}; ` +
      `ended by themselves: ${events.sdk.ended.describe()}`,
  );
  const restarts = chaos.filter((event) => event.kind === 'redis');
  const relayRestart = chaos.find((event) => event.kind === 'relay');
  console.log(
    `  chaos: ${restarts.length} redis-server restarts (${restarts.map((e) => `${e.signal} at ${e.at.toFixed(1)} s`).join(', ') || 'none'}), ` +
      `relay SIGKILL ${relayRestart === undefined ? 'not done' : `at ${relayRestart.at.toFixed(1)} s, down ${(relayRestart.outageMs / 1000).toFixed(1)} s`}`,
  );
  const logLines = Object.entries(relay.logCounts).map(([line, count]) => `${line} x${count}`);
  console.log(`  relay log (warn and above): ${logLines.join('; ') || 'none'}`);
  for (const sample of [...live.samples, ...stored.samples]) console.log(`  e.g. ${sample}`);
  if (verdict.problems.length === 0) {
    console.log(
      '\nPASS: every acknowledged message was delivered exactly once to every live subscriber ' +
        'of its mailbox and is stored exactly once',
    );
  } else {
    console.log(`\nFAIL: ${verdict.problems.join('; ')}`);
  }
}
