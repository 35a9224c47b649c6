// After the live part: every mailbox read again from its start by `poll`, with a proof of its own,
// so what the store holds is checked apart from what the live streams delivered.
import { createRelayTransport } from '@deaddrop/client';
import { PROTOCOL_LIMITS } from '@deaddrop/contract';
import { runPool } from '../bench-live-measure.mjs';

const POLL_CONCURRENCY = 8;

/** Each mailbox's stored messages (`{ id, ciphertext }`), in id order, reading at most `maxPages(i)` pages. */
export async function readEveryMailbox({ relay, mailboxes, maxPages }) {
  const stored = [];
  const limit = PROTOCOL_LIMITS.pollLimitMax;
  await runPool(mailboxes.length, POLL_CONCURRENCY, async (i) => {
    const { agentId, keys } = mailboxes[i];
    const transport = createRelayTransport({
      relayUrl: relay.url,
      signer: { agentId, keys },
      relayId: () => Promise.resolve(relay.relayId),
      maxBatchItems: 1,
    });
    const messages = [];
    let after = '0-0';
    for (let page = 0; page < maxPages(i); page++) {
      const result = await transport.poll.query({ after, limit });
      for (const { id, ciphertext } of result.messages) messages.push({ id, ciphertext });
      if (result.messages.length < limit) break;
      after = result.cursor;
    }
    stored[i] = messages;
  });
  return stored;
}
