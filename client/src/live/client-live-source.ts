// What a client's live inbox draws on (live-inbox.ts): its relay and identity to connect with,
// the shared state file and replay cache (inbox-state.ts), and its message reader.
import type { StoredMessage } from '@deaddrop/contract';
import type { RelayInfo } from '../client-types.js';
import type { DeadDropError } from '../errors.js';
import type { InboxEntry } from '../inbox-entry.js';
import type { InboxState } from '../inbox-state.js';
import type { Identity } from '../keystore.js';
import type { ReceiptEvent } from '../receipts/receipt-event.js';
import { openLiveConnection } from './live-connection.js';
import type { LiveInboxSource } from './live-inbox.js';

export interface ClientLiveDeps {
  readonly relayUrl: string;
  readonly apiKey: string | undefined;
  readonly fetch: typeof fetch | undefined;
  /** The identity now: a rotation replaces its keys while an inbox is open. */
  readonly identity: () => Identity;
  readonly info: () => Promise<RelayInfo>;
  readonly state: InboxState;
  readonly reader: (info: RelayInfo) => (stored: StoredMessage) => Promise<InboxEntry>;
  /** The freshness window the state file is pruned by. */
  readonly windowMs: (info: RelayInfo) => number;
  readonly maxIdleMs: number;
  readonly now: () => number;
  readonly receipt: (event: ReceiptEvent) => void;
  readonly handedOver: (entry: InboxEntry) => void;
  /** After delivered entries are recorded as seen: delete the prekey secrets they used. */
  readonly recorded: (delivered: readonly InboxEntry[]) => Promise<void>;
  readonly reregister: (refusal: DeadDropError) => Promise<void>;
}

export function clientLiveSource(deps: ClientLiveDeps): LiveInboxSource {
  const { state } = deps;
  // Each connection attempt signs a fresh proof with the keys of that moment (after rotateKey()
  // the relay accepts only the new key).
  const signer = {
    get agentId(): string {
      return deps.identity().agentId;
    },
    get keys(): Identity['keys'] {
      return deps.identity().keys;
    },
  };
  return {
    relayUrl: deps.relayUrl,
    info: deps.info,
    loadState: () => state.inTurn(() => state.load()),
    reader: deps.reader,
    receipt: deps.receipt,
    handedOver: deps.handedOver,
    reregister: deps.reregister,
    undeliver: (entry) => {
      state.undeliver([entry]);
    },
    holdOver: (entry) => {
      state.holdOver(entry);
    },
    takeHeldOver: () => state.takeHeldOver(),
    commit: (info, delivered) =>
      state.inTurn(async () => {
        // Merged into the file as it is now: another reader may have moved on meanwhile.
        const now = deps.now();
        const current = await state.load();
        current.recordDelivered(info.relayId, delivered, now);
        await state.save(current, now, deps.windowMs(info));
        await deps.recorded(delivered);
      }),
    connect: ({ transport, authIn }, info) =>
      openLiveConnection({
        relayUrl: deps.relayUrl,
        apiKey: deps.apiKey,
        signer,
        relayId: async () => (await deps.info()).relayId,
        transport: transport ?? 'sse',
        authIn,
        maxMessageBytes: info.limits.maxMessageBytes,
        maxIdleMs: deps.maxIdleMs,
        ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
      }),
  };
}
