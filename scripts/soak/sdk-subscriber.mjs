// A live inbox subscriber through the SDK (`DeadDropClient.subscribe`, SSE): its own reconnects,
// resume from the saved cursor, opening and verifying each message, saving its state file.
import { DeadDropClient, isUnreadable } from '@deaddrop/client';

/**
 * Follows `identity`'s mailbox until `stop()`. `onMessage(id, seq)` gets each readable entry (the
 * sequence number from the decrypted body); `onUnreadable(entry)` the others. `events` counts
 * reconnect notices by reason and fatal ends.
 */
export function startSdkSubscriber({ identity, onMessage, onUnreadable, onUnverified, events }) {
  const client = new DeadDropClient({ identity });
  let markConnected;
  const connected = new Promise((resolve) => (markConnected = resolve));
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
      onMessage(entry.id, entry.body?.seq);
    },
    onError: (error) => events.ended(`${error.reason ?? 'error'}: ${error.message}`),
  });
  return {
    connected,
    async stop() {
      subscription.unsubscribe();
      await subscription.closed;
    },
  };
}
