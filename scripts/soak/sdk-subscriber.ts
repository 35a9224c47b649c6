// A live inbox subscriber through the SDK (`DeadDropClient.subscribe`, SSE): its own reconnects,
// resume from the saved cursor, opening and verifying each message, saving its state file.
import {
  DeadDropClient,
  isDeadDropError,
  isUnreadable,
  type Identity,
  type UnreadableMessage,
} from '@deaddrop/client';
import { errorMessage } from '../load-support/error-message.js';
import type { LiveSubscriber } from './raw-sse-subscriber.js';

/** What the soak counts about SDK subscriptions, by reason. */
export interface SdkSubscriptionHooks {
  reconnecting(reason: string): void;
  /** The subscription ended by itself. */
  ended(reason: string): void;
}

export interface SdkSubscriberOptions {
  readonly identity: Identity;
  /** Each readable entry, with the sequence number from its decrypted body. */
  readonly onMessage: (id: string, seq: unknown) => void;
  readonly onUnreadable: (entry: UnreadableMessage) => void;
  readonly onUnverified: (reason: string) => void;
  readonly events: SdkSubscriptionHooks;
}

/** The `seq` field of a decrypted soak body, if it has one. */
function seqOf(body: unknown): unknown {
  return typeof body === 'object' && body !== null && 'seq' in body ? body.seq : undefined;
}

/** Follows `identity`'s mailbox until `stop()`. */
export function startSdkSubscriber({
  identity,
  onMessage,
  onUnreadable,
  onUnverified,
  events,
}: SdkSubscriberOptions): LiveSubscriber {
  const client = new DeadDropClient({ identity });
  let markConnected = (): void => undefined;
  const connected = new Promise<void>((resolve) => (markConnected = resolve));
  const subscription = client.subscribe({
    transport: 'sse',
    onConnection: (event) => {
      if (event.state === 'connected') markConnected();
      else events.reconnecting(event.error.reason);
    },
    onMessage: (entry) => {
      if (isUnreadable(entry)) {
        onUnreadable(entry);
        return;
      }
      if (!entry.verified) onUnverified(entry.reason);
      onMessage(entry.id, seqOf(entry.body));
    },
    onError: (error) => {
      const reason = isDeadDropError(error) ? error.reason : 'error';
      events.ended(`${reason}: ${errorMessage(error)}`);
    },
  });
  return {
    connected,
    async stop() {
      subscription.unsubscribe();
      await subscription.closed;
    },
  };
}
