// Calling a wake listener from a driver's own code path (a committed append, a pub/sub message),
// and letting the readers an append woke answer before the append's caller goes on.
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

/**
 * An append that handed its message to waiting readers in this process resolves on the next turn
 * of the event loop instead of at once: the woken long-polls and live streams then write their
 * answers in this turn with nothing ahead of them, and the sender's answer follows. Otherwise the
 * sender's continuation runs interleaved with theirs, microtask by microtask, and its answer is
 * often written first — the reader's wake-up measured ≈ 0.3–0.5 ms later on a loaded machine.
 * The sender waits one loop turn, only when someone here was waiting for the mailbox.
 */
export function letWokenReadersAnswerFirst(): Promise<void> {
  return new Promise((resolve) => {
    setImmediate(resolve);
  });
}
