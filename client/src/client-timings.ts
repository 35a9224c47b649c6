// The client's time and size bounds from its options: each a positive whole number, else the
// default; anything else is INVALID_CONFIG before the client exists.
import type { DeadDropClientOptions } from './client-types.js';
import { DeadDropError } from './errors.js';
import { DEFAULT_MAX_MESSAGE_AGE_MS } from './freshness.js';
import { DEFAULT_MAX_IDLE_MS } from './live/event-stream-guard.js';
import { DEFAULT_REQUEST_TIMEOUT_MS } from './transport.js';

export interface ClientTimings {
  readonly maxMessageAgeMs: number;
  readonly requestTimeoutMs: number;
  readonly liveIdleTimeoutMs: number;
}

export function resolveClientTimings(options: DeadDropClientOptions): ClientTimings {
  return {
    maxMessageAgeMs: positive(
      'maxMessageAgeMs',
      options.maxMessageAgeMs,
      DEFAULT_MAX_MESSAGE_AGE_MS,
    ),
    requestTimeoutMs: positive(
      'requestTimeoutMs',
      options.requestTimeoutMs,
      DEFAULT_REQUEST_TIMEOUT_MS,
    ),
    liveIdleTimeoutMs: positive(
      'liveIdleTimeoutMs',
      options.liveIdleTimeoutMs,
      DEFAULT_MAX_IDLE_MS,
    ),
  };
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new DeadDropError(
      'INVALID_CONFIG',
      `${name} must be a positive whole number of milliseconds, not ${String(value)}`,
    );
  }
  return value;
}
