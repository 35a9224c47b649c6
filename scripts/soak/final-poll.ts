// After the live part: every mailbox read again from its start by `poll`, with a proof of its own,
// so what the store holds is checked apart from what the live streams delivered.
import { createRelayTransport } from '@deaddrop/client';
import { PROTOCOL_LIMITS } from '@deaddrop/contract';
import { runPool } from '../load-support/run-pool.js';
import type { SoakMailbox } from './mailboxes.js';
import type { SoakRelay } from './relay-process.js';

const POLL_CONCURRENCY = 8;

export interface StoredMessage {
  readonly id: string;
  readonly ciphertext: string;
}

/** Each mailbox's stored messages, in id order, reading at most `maxPages(i)` pages. */
export async function readEveryMailbox({
  relay,
  mailboxes,
  maxPages,
}: {
  relay: SoakRelay;
  mailboxes: readonly SoakMailbox[];
  maxPages: (index: number) => number;
}): Promise<StoredMessage[][]> {
  const stored: StoredMessage[][] = mailboxes.map(() => []);
  const limit = PROTOCOL_LIMITS.pollLimitMax;
  await runPool(mailboxes.length, POLL_CONCURRENCY, async (i) => {
    const mailbox = mailboxes[i];
    const messages = stored[i];
    if (mailbox === undefined || messages === undefined) return;
    const transport = createRelayTransport({
      relayUrl: relay.url,
      signer: { agentId: mailbox.agentId, keys: mailbox.keys },
      relayId: () => Promise.resolve(relay.relayId),
      maxBatchItems: 1,
    });
    let after = '0-0';
    for (let page = 0; page < maxPages(i); page++) {
      const result = await transport.poll.query({ after, limit });
      for (const { id, ciphertext } of result.messages) messages.push({ id, ciphertext });
      if (result.messages.length < limit) break;
      after = result.cursor;
    }
  });
  return stored;
}
