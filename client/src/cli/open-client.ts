// How every CLI command gets a client: identity from the home folder (with a warning if other users
// can get at it), relay URL resolved per PROTOCOL §1 (--server, DEADDROP_SERVER_URL, the identity's
// relayUrl, the default), and a line on stderr for each retry of a send, so a relay that is down
// does not look like a hang.
import { DeadDropClient } from '../client.js';
import { loadIdentity } from '../keystore.js';
import { resolveRelayUrl } from '../relay-url.js';
import type { ReceiptEvent } from '../receipts/receipt-event.js';
import type { SendRetryNotice } from '../send-retry.js';
import type { CommandContext } from './command.js';
import { warnAboutExposedFiles } from '../exposed-files.js';
import { warnOn } from './io.js';

/** What a command adds to the client it opens. */
export interface CliClientOptions {
  /** Each delivery receipt this client's polls and live inboxes read. */
  readonly onReceipt?: ((event: ReceiptEvent) => void) | undefined;
}

export async function openCliClient(
  context: CommandContext,
  agentId: string,
  options: CliClientOptions = {},
): Promise<DeadDropClient> {
  const identity = await loadIdentity(agentId, { home: context.home });
  await warnAboutExposedFiles(warnOn(context.io), identity.home, [agentId]);
  return new DeadDropClient({
    identity,
    relayUrl: resolveRelayUrl({
      flag: context.values.server,
      env: context.env.serverUrl,
      identity: identity.relayUrl,
    }),
    apiKey: context.env.apiKey,
    maxMessageAgeMs: context.env.maxMessageAgeMs,
    requestTimeoutMs: context.env.requestTimeoutMs,
    requireExplicitKeys: context.values.strict === true,
    // --no-receipts wins over DEADDROP_RECEIPTS; receipts that arrive are reported either way.
    receipts: context.values['no-receipts'] === true ? false : context.env.receipts,
    onReceipt: options.onReceipt,
    sendRetry: {
      onRetry: (retry) => {
        context.io.err(describeRetry(retry));
      },
    },
  });
}

function describeRetry(retry: SendRetryNotice): string {
  const seconds = (retry.waitMs / 1000).toFixed(1);
  return `${retry.error.message}; retrying in ${seconds} s (attempt ${retry.nextAttempt} of ${retry.attempts})`;
}
