// How SQLite failures reach callers, on either thread: transient ones become StoreUnavailableError
// (the relay answers 503), the rest pass through as they are.
import { StoreUnavailableError } from '../mailbox-store.js';
import type { SerializedError } from './write-requests.js';

/** SQLite failures that mean "try again later" (another process holds the lock, disk trouble). */
const TRANSIENT_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY)/;

function codeOf(error: Error): string | undefined {
  return 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** Maps an error thrown on this thread. */
export function toStoreError(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  return TRANSIENT_CODES.test(codeOf(error) ?? '')
    ? new StoreUnavailableError('embedded store is unavailable', { cause: error })
    : error;
}

/** Keeps what structured clone would lose (a SqliteError's class and `code`). */
export function serializeError(error: unknown): SerializedError {
  return error instanceof Error
    ? { name: error.name, message: error.message, code: codeOf(error) }
    : { name: 'Error', message: String(error), code: undefined };
}

/** Maps an error the writer thread reported. */
export function fromSerializedError(serialized: SerializedError): Error {
  const error = Object.assign(new Error(serialized.message), { code: serialized.code });
  error.name = serialized.name;
  return toStoreError(error);
}
