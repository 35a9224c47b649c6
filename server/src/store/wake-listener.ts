// Calling a wake listener from a driver's own code path (a committed append, a pub/sub message).
import type { FreshMessage, WakeListener } from './mailbox-store.js';

/**
 * A listener that throws must neither fail the append that woke it nor starve the other watchers,
 * so its error is rethrown on its own microtask, where it surfaces like any uncaught error.
 */
export function callWakeListener(listener: WakeListener, fresh?: FreshMessage): void {
  try {
    listener(fresh);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
