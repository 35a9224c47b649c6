// The only place the SDK and CLI read `process.env` (PROTOCOL §5: client variables).
import { parseDurationMs } from './duration.js';
import { DeadDropError } from './errors.js';
import { normalizeRelayUrl } from './relay-url.js';

/** Every variable `readClientEnv` reads (a test holds it to that; `npm run dev` passes them on). */
export const clientVariableNames = [
  'DEADDROP_HOME',
  'DEADDROP_SERVER_URL',
  'DEADDROP_API_KEY',
  'DEADDROP_MAX_MESSAGE_AGE',
  'DEADDROP_REQUEST_TIMEOUT',
] as const;

export interface ClientEnv {
  /** `DEADDROP_HOME`: where identities live. */
  readonly home: string | undefined;
  /** `DEADDROP_SERVER_URL`: the relay, unless a flag names another. */
  readonly serverUrl: string | undefined;
  /** `DEADDROP_API_KEY`: the relay access key, if the relay needs one. */
  readonly apiKey: string | undefined;
  /** `DEADDROP_MAX_MESSAGE_AGE`: the oldest a message may be and still be verified (ms). */
  readonly maxMessageAgeMs: number | undefined;
  /** `DEADDROP_REQUEST_TIMEOUT`: how long a relay call may take (ms). */
  readonly requestTimeoutMs: number | undefined;
}

/** Bounds of the duration variables: least and most in ms, and both in words. */
const DURATION_BOUNDS = {
  DEADDROP_MAX_MESSAGE_AGE: { least: 60_000, most: 366 * 86_400_000, words: '1m and 366d' },
  DEADDROP_REQUEST_TIMEOUT: { least: 100, most: 3_600_000, words: '100ms and 1h' },
} as const;

/** Reads and validates the client's variables; an invalid one fails naming the variable. */
export function readClientEnv(env: NodeJS.ProcessEnv = process.env): ClientEnv {
  const serverUrl = nonEmpty(env.DEADDROP_SERVER_URL);
  const apiKey = nonEmpty(env.DEADDROP_API_KEY);
  if (apiKey !== undefined && !/^[\x21-\x7e]+$/.test(apiKey)) {
    throw new DeadDropError(
      'INVALID_CONFIG',
      'DEADDROP_API_KEY must be printable ASCII without spaces',
    );
  }
  return {
    home: nonEmpty(env.DEADDROP_HOME),
    serverUrl:
      serverUrl === undefined ? undefined : normalizeRelayUrl(serverUrl, 'DEADDROP_SERVER_URL'),
    apiKey,
    maxMessageAgeMs: duration(env, 'DEADDROP_MAX_MESSAGE_AGE'),
    requestTimeoutMs: duration(env, 'DEADDROP_REQUEST_TIMEOUT'),
  };
}

function duration(env: NodeJS.ProcessEnv, name: keyof typeof DURATION_BOUNDS): number | undefined {
  const text = nonEmpty(env[name]);
  if (text === undefined) return undefined;
  const ms = parseDurationMs(text);
  const bounds = DURATION_BOUNDS[name];
  if (ms === null || ms < bounds.least || ms > bounds.most) {
    throw new DeadDropError(
      'INVALID_CONFIG',
      `${name} must be a duration between ${bounds.words}, such as 7d, 12h, 90m, 30s or 30 (seconds)`,
    );
  }
  return ms;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
