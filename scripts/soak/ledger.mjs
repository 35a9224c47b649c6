// The soak's bookkeeping: every message by its sequence number (mailbox, ciphertext, the relay id
// its acknowledgement named), every live delivery per subscriber, and the verdicts drawn from
// them — delivered exactly once, lost, duplicated — live and by poll.
import { compareMessageIds } from '@deaddrop/client';

export function createLedger({ mailboxCount, subscriberMailboxes }) {
  const counts = { sent: 0, acked: 0, failed: 0, deliveries: 0 };
  /** Seconds into the run of each acknowledgement, in the order they came. */
  const ackTimes = [];
  /** seq → { mailbox, state: 'sending' | 'acked' | 'failed', id, attempts, duplicateAnswer } */
  const messages = [];
  const seqByCiphertext = new Map();
  const seqsByMailbox = Array.from({ length: mailboxCount }, () => []);
  const subscribers = subscriberMailboxes.map((mailbox) => ({
    mailbox,
    /** seq → { id: first relay id it came under, count } */
    received: new Map(),
    lastId: '0-0',
    sameIdAgain: 0,
    otherIdCopies: 0,
    outOfOrder: 0,
    unknown: 0,
    unreadable: 0,
  }));

  const deliver = (index, id, seq) => {
    counts.deliveries += 1;
    const subscriber = subscribers[index];
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

  return {
    counts,
    messages,
    subscribers,
    sent(seq, mailbox, ciphertext) {
      counts.sent += 1;
      messages[seq] = { mailbox, state: 'sending', id: undefined, attempts: 0 };
      seqByCiphertext.set(ciphertext, seq);
      seqsByMailbox[mailbox].push(seq);
    },
    acked(seq, answer, attempts, at) {
      counts.acked += 1;
      ackTimes.push(at);
      Object.assign(messages[seq], {
        state: 'acked',
        id: answer.id,
        attempts,
        duplicateAnswer: answer.duplicate,
      });
    },
    failed(seq, attempts, lastError) {
      counts.failed += 1;
      Object.assign(messages[seq], { state: 'failed', attempts, lastError });
    },
    /** A raw SSE delivery: the ciphertext names the message (a copy stored twice has a new id). */
    receivedCiphertext(index, id, ciphertext) {
      deliver(index, id, seqByCiphertext.get(ciphertext));
    },
    /** An SDK delivery: the decrypted body names the message. */
    receivedSeq(index, id, seq) {
      deliver(index, id, Number.isInteger(seq) && messages[seq] !== undefined ? seq : undefined);
    },
    receivedUnreadable(index) {
      subscribers[index].unreadable += 1;
    },
    /** Acknowledged (subscriber, message) pairs not delivered yet. */
    outstanding() {
      let missing = 0;
      for (const subscriber of subscribers) {
        for (const seq of seqsByMailbox[subscriber.mailbox]) {
          if (messages[seq].state === 'acked' && !subscriber.received.has(seq)) missing += 1;
        }
      }
      return missing;
    },
    /** Stretches longer than `minSeconds` with no acknowledgement: `[from, to]` seconds into the run. */
    ackGaps(minSeconds) {
      const gaps = [];
      for (let i = 1; i < ackTimes.length; i++) {
        if (ackTimes[i] - ackTimes[i - 1] > minSeconds) gaps.push([ackTimes[i - 1], ackTimes[i]]);
      }
      return gaps;
    },
    seqOfCiphertext: (ciphertext) => seqByCiphertext.get(ciphertext),
    seqsOf: (mailbox) => seqsByMailbox[mailbox],
  };
}

/** Live verdicts, per (subscriber, message) pair and per message. */
export function verifyLive(ledger) {
  const { messages, subscribers } = ledger;
  const result = {
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
        if (result.samples.length < 5) {
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

/** Poll verdicts: each mailbox read from the start, `stored` being what the relay returned. */
export function verifyStored(ledger, storedByMailbox) {
  const { messages } = ledger;
  const result = {
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
    const copies = new Map();
    for (const { id, ciphertext } of stored) {
      result.stored += 1;
      const seq = ledger.seqOfCiphertext(ciphertext);
      if (seq === undefined) {
        result.unknown += 1;
        continue;
      }
      if (messages[seq].mailbox !== mailbox) result.wrongMailbox += 1;
      copies.set(seq, [...(copies.get(seq) ?? []), id]);
    }
    for (const seq of ledger.seqsOf(mailbox)) {
      const message = messages[seq];
      const ids = copies.get(seq) ?? [];
      if (ids.length > 1) {
        result.storedTwice += 1;
        result.duplicatedMessages.add(seq);
        if (result.samples.length < 5) {
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
        if (result.samples.length < 5) {
          result.samples.push(`seq ${seq} acknowledged as ${message.id}, not in poll`);
        }
      } else if (!ids.includes(message.id)) {
        result.idMismatch += 1;
      }
    }
  }
  return result;
}
