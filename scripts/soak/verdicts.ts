// The verdicts drawn from the ledger: per (subscriber, message) pair live, and per mailbox from the
// final poll — delivered exactly once, lost, duplicated, under another id than acknowledged.
import type { StoredMessage } from './final-poll.js';
import type { Ledger } from './ledger.js';

/** At most this many examples of what went wrong are kept for the report. */
const SAMPLES = 5;

export interface LiveVerdict {
  expected: number;
  exactlyOnce: number;
  missing: number;
  extraCopies: number;
  sameIdAgain: number;
  otherIdCopies: number;
  idMismatch: number;
  unackedDelivered: number;
  outOfOrder: number;
  unknown: number;
  unreadable: number;
  readonly lostMessages: Set<number>;
  readonly duplicatedMessages: Set<number>;
  readonly samples: string[];
}

export interface StoredVerdict {
  stored: number;
  acked: number;
  missing: number;
  storedTwice: number;
  idMismatch: number;
  storedUnacked: number;
  unknown: number;
  wrongMailbox: number;
  readonly lostMessages: Set<number>;
  readonly duplicatedMessages: Set<number>;
  readonly samples: string[];
}

/** Live verdicts, per (subscriber, message) pair and per message. */
export function verifyLive(ledger: Ledger): LiveVerdict {
  const { messages, subscribers } = ledger;
  const result: LiveVerdict = {
    expected: 0,
    exactlyOnce: 0,
    missing: 0,
    extraCopies: 0,
    sameIdAgain: 0,
    otherIdCopies: 0,
    idMismatch: 0,
    unackedDelivered: 0,
    outOfOrder: 0,
    unknown: 0,
    unreadable: 0,
    lostMessages: new Set(),
    duplicatedMessages: new Set(),
    samples: [],
  };
  for (const [index, subscriber] of subscribers.entries()) {
    result.sameIdAgain += subscriber.sameIdAgain;
    result.otherIdCopies += subscriber.otherIdCopies;
    result.outOfOrder += subscriber.outOfOrder;
    result.unknown += subscriber.unknown;
    result.unreadable += subscriber.unreadable;
    for (const seq of ledger.seqsOf(subscriber.mailbox)) {
      const message = messages[seq];
      if (message === undefined) continue;
      const seen = subscriber.received.get(seq);
      if (seen !== undefined && seen.count > 1) {
        result.extraCopies += seen.count - 1;
        result.duplicatedMessages.add(seq);
      }
      if (message.state !== 'acked') {
        if (seen !== undefined) result.unackedDelivered += 1;
        continue;
      }
      result.expected += 1;
      if (seen === undefined) {
        result.missing += 1;
        result.lostMessages.add(seq);
        if (result.samples.length < SAMPLES) {
          result.samples.push(`seq ${seq} (id ${message.id}) never reached subscriber ${index}`);
        }
        continue;
      }
      if (seen.count === 1) result.exactlyOnce += 1;
      if (seen.id !== message.id) result.idMismatch += 1;
    }
  }
  return result;
}

/** Poll verdicts: each mailbox read from the start, `storedByMailbox` being what the relay returned. */
export function verifyStored(
  ledger: Ledger,
  storedByMailbox: readonly (readonly StoredMessage[])[],
): StoredVerdict {
  const { messages } = ledger;
  const result: StoredVerdict = {
    stored: 0,
    acked: 0,
    missing: 0,
    storedTwice: 0,
    idMismatch: 0,
    storedUnacked: 0,
    unknown: 0,
    wrongMailbox: 0,
    lostMessages: new Set(),
    duplicatedMessages: new Set(),
    samples: [],
  };
  for (const [mailbox, stored] of storedByMailbox.entries()) {
    const copies = new Map<number, string[]>();
    for (const { id, ciphertext } of stored) {
      result.stored += 1;
      const seq = ledger.seqOfCiphertext(ciphertext);
      if (seq === undefined) {
        result.unknown += 1;
        continue;
      }
      if (messages[seq]?.mailbox !== mailbox) result.wrongMailbox += 1;
      copies.set(seq, [...(copies.get(seq) ?? []), id]);
    }
    for (const seq of ledger.seqsOf(mailbox)) {
      const message = messages[seq];
      if (message === undefined) continue;
      const ids = copies.get(seq) ?? [];
      if (ids.length > 1) {
        result.storedTwice += 1;
        result.duplicatedMessages.add(seq);
        if (result.samples.length < SAMPLES) {
          result.samples.push(`seq ${seq} stored ${ids.length} times: ${ids.join(', ')}`);
        }
      }
      if (message.state !== 'acked') {
        if (ids.length > 0) result.storedUnacked += 1;
        continue;
      }
      result.acked += 1;
      if (ids.length === 0) {
        result.missing += 1;
        result.lostMessages.add(seq);
        if (result.samples.length < SAMPLES) {
          result.samples.push(`seq ${seq} acknowledged as ${message.id}, not in poll`);
        }
      } else if (!ids.includes(message.id)) {
        result.idMismatch += 1;
      }
    }
  }
  return result;
}
