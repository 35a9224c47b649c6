// The soak's bookkeeping: every message by its sequence number (mailbox, state, the relay id its
// acknowledgement named) and every live delivery per subscriber.
import { compareMessageIds } from '@deaddrop/client';

export type MessageRecord =
  | { readonly mailbox: number; readonly state: 'sending' }
  | {
      readonly mailbox: number;
      readonly state: 'acked';
      readonly id: string;
      readonly attempts: number;
      readonly duplicateAnswer: boolean;
    }
  | {
      readonly mailbox: number;
      readonly state: 'failed';
      readonly attempts: number;
      readonly lastError: string;
    };

export interface SubscriberRecord {
  readonly mailbox: number;
  /** seq → the first relay id it came under, and how many times it came. */
  readonly received: Map<number, { id: string; count: number }>;
  lastId: string;
  sameIdAgain: number;
  otherIdCopies: number;
  outOfOrder: number;
  unknown: number;
  unreadable: number;
}

export interface LedgerCounts {
  sent: number;
  acked: number;
  failed: number;
  deliveries: number;
}

export interface Ledger {
  readonly counts: LedgerCounts;
  /** By sequence number. */
  readonly messages: MessageRecord[];
  readonly subscribers: readonly SubscriberRecord[];
  sent(seq: number, mailbox: number, ciphertext: string): void;
  acked(
    seq: number,
    answer: { id: string; duplicate: boolean },
    attempts: number,
    at: number,
  ): void;
  failed(seq: number, attempts: number, lastError: string): void;
  /** A raw SSE delivery: the ciphertext names the message (a copy stored twice has a new id). */
  receivedCiphertext(index: number, id: string, ciphertext: string | undefined): void;
  /** An SDK delivery: the decrypted body names the message. */
  receivedSeq(index: number, id: string, seq: unknown): void;
  receivedUnreadable(index: number): void;
  /** Acknowledged (subscriber, message) pairs not delivered yet. */
  outstanding(): number;
  /** Stretches longer than `minSeconds` with no acknowledgement: `[from, to]` seconds into the run. */
  ackGaps(minSeconds: number): [number, number][];
  seqOfCiphertext(ciphertext: string): number | undefined;
  seqsOf(mailbox: number): readonly number[];
}

export function createLedger({
  mailboxCount,
  subscriberMailboxes,
}: {
  mailboxCount: number;
  subscriberMailboxes: readonly number[];
}): Ledger {
  const counts = { sent: 0, acked: 0, failed: 0, deliveries: 0 };
  /** Seconds into the run of each acknowledgement, in the order they came. */
  const ackTimes: number[] = [];
  const messages: MessageRecord[] = [];
  const seqByCiphertext = new Map<string, number>();
  const seqsByMailbox = Array.from({ length: mailboxCount }, (): number[] => []);
  const subscribers: SubscriberRecord[] = subscriberMailboxes.map((mailbox) => ({
    mailbox,
    received: new Map(),
    lastId: '0-0',
    sameIdAgain: 0,
    otherIdCopies: 0,
    outOfOrder: 0,
    unknown: 0,
    unreadable: 0,
  }));
  const subscriberAt = (index: number): SubscriberRecord => {
    const subscriber = subscribers[index];
    if (subscriber === undefined) throw new Error(`no subscriber ${index}`);
    return subscriber;
  };

  const deliver = (index: number, id: string, seq: number | undefined): void => {
    counts.deliveries += 1;
    const subscriber = subscriberAt(index);
    const seen = seq === undefined ? undefined : subscriber.received.get(seq);
    // The same relay id twice is a resume that replayed; another id is the message stored twice.
    if (seen !== undefined && seen.id === id) {
      seen.count += 1;
      subscriber.sameIdAgain += 1;
      return;
    }
    if (compareMessageIds(id, subscriber.lastId) <= 0) subscriber.outOfOrder += 1;
    else subscriber.lastId = id;
    if (seq === undefined) subscriber.unknown += 1;
    else if (seen === undefined) subscriber.received.set(seq, { id, count: 1 });
    else {
      seen.count += 1;
      subscriber.otherIdCopies += 1;
    }
  };
  const mailboxOf = (seq: number): number => {
    const message = messages[seq];
    if (message === undefined) throw new Error(`no message ${seq}`);
    return message.mailbox;
  };

  return {
    counts,
    messages,
    subscribers,
    sent(seq, mailbox, ciphertext) {
      counts.sent += 1;
      messages[seq] = { mailbox, state: 'sending' };
      seqByCiphertext.set(ciphertext, seq);
      seqsByMailbox[mailbox]?.push(seq);
    },
    acked(seq, answer, attempts, at) {
      counts.acked += 1;
      ackTimes.push(at);
      messages[seq] = {
        mailbox: mailboxOf(seq),
        state: 'acked',
        id: answer.id,
        attempts,
        duplicateAnswer: answer.duplicate,
      };
    },
    failed(seq, attempts, lastError) {
      counts.failed += 1;
      messages[seq] = { mailbox: mailboxOf(seq), state: 'failed', attempts, lastError };
    },
    receivedCiphertext(index, id, ciphertext) {
      deliver(index, id, ciphertext === undefined ? undefined : seqByCiphertext.get(ciphertext));
    },
    receivedSeq(index, id, seq) {
      const known = typeof seq === 'number' && Number.isInteger(seq) && messages[seq] !== undefined;
      deliver(index, id, known ? seq : undefined);
    },
    receivedUnreadable(index) {
      subscriberAt(index).unreadable += 1;
    },
    outstanding() {
      let missing = 0;
      for (const subscriber of subscribers) {
        for (const seq of seqsByMailbox[subscriber.mailbox] ?? []) {
          if (messages[seq]?.state === 'acked' && !subscriber.received.has(seq)) missing += 1;
        }
      }
      return missing;
    },
    ackGaps(minSeconds) {
      const gaps: [number, number][] = [];
      for (let i = 1; i < ackTimes.length; i++) {
        const from = ackTimes[i - 1] ?? 0;
        const to = ackTimes[i] ?? 0;
        if (to - from > minSeconds) gaps.push([from, to]);
      }
      return gaps;
    },
    seqOfCiphertext: (ciphertext) => seqByCiphertext.get(ciphertext),
    seqsOf: (mailbox) => seqsByMailbox[mailbox] ?? [],
  };
}
