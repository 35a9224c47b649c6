// The writer thread's start-up handshake. `EmbeddedMailboxStore.open` is synchronous and used to
// return a store ready to write, so it blocks until the thread has its connection (tens of ms
// built or bundled from sources): the first write after `open` then pays no start-up delay, and a
// thread that cannot start fails `open` itself rather than the first write.
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { StoreUnavailableError } from '../mailbox-store.js';
import { fromSerializedError, serializeError } from './store-errors.js';
import { isSerializedError } from './write-requests.js';

const STARTING = 0;
const STARTED = 1;
/** Also written by the wrapper of the bundled worker (writer-from-sources.ts). */
export const STARTUP_FAILED = 2;

/** Generous: a loaded CI machine starting a TypeScript worker can take seconds. */
const START_TIMEOUT_MS = 15_000;

/** What the writer thread gets to report its start: a shared flag, and a port for the error. */
export interface StartupSignal {
  /** One Int32 on a SharedArrayBuffer: STARTING, STARTED or FAILED. */
  readonly state: Int32Array;
  readonly errors: MessagePort;
}

export interface StartupWaiter {
  /** Goes to the writer thread in its workerData (and transferList). */
  readonly signal: StartupSignal;
  /** Blocks until the thread reported; throws when it failed or never answered. */
  wait(): void;
}

export function createStartupWaiter(): StartupWaiter {
  const state = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const { port1, port2 } = new MessageChannel();
  return {
    signal: { state, errors: port2 },
    wait() {
      try {
        const outcome = Atomics.wait(state, 0, STARTING, START_TIMEOUT_MS);
        if (outcome === 'timed-out') {
          throw new StoreUnavailableError(
            `embedded store writer did not start within ${START_TIMEOUT_MS} ms`,
          );
        }
        if (Atomics.load(state, 0) === STARTUP_FAILED) {
          const reported: unknown = receiveMessageOnPort(port1)?.message;
          throw new StoreUnavailableError('embedded store writer failed to start', {
            cause: isSerializedError(reported) ? fromSerializedError(reported) : undefined,
          });
        }
      } finally {
        port1.close();
      }
    },
  };
}

export function reportStarted(signal: StartupSignal): void {
  signal.errors.close();
  Atomics.store(signal.state, 0, STARTED);
  Atomics.notify(signal.state, 0);
}

export function reportFailed(signal: StartupSignal, error: unknown): void {
  // The message is queued before the flag flips, so the woken main thread finds it.
  signal.errors.postMessage(serializeError(error));
  Atomics.store(signal.state, 0, STARTUP_FAILED);
  Atomics.notify(signal.state, 0);
}
