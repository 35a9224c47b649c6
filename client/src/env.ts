// The only place the SDK and CLI read `process.env` (PROTOCOL §5: client variables).
import { durationText, parseDurationMs } from './duration.js';
import { DeadDropError } from './errors.js';
import { DEFAULT_MAX_MESSAGE_AGE_MS } from './freshness.js';
import { DEFAULT_RELAY_URL, normalizeRelayUrl } from './relay-url.js';
import { DEFAULT_REQUEST_TIMEOUT_MS } from './transport.js';

/** A variable as `--help` and docs/configuration.md list it. */
export interface EnvVariable {
  readonly name: string;
  /** What applies when it is unset, in words. */
  readonly defaultValue: string;
  /** One line, for `--help`. */
  readonly meaning: string;
  /** More for the docs (Markdown): accepted values, flags that win over it. */
  readonly notes?: string;
}

/** Bounds of the duration variables, in ms. */
const DURATION_BOUNDS = {
  DEADDROP_MAX_MESSAGE_AGE: { least: 60_000, most: 366 * 86_400_000 },
  DEADDROP_REQUEST_TIMEOUT: { least: 100, most: 3_600_000 },
} as const;

function boundsText(name: keyof typeof DURATION_BOUNDS): string {
  const { least, most } = DURATION_BOUNDS[name];
  return `${durationText(least)} and ${durationText(most)}`;
}

/** Every variable `readClientEnv` reads (a test holds it to that; `npm run dev` passes them on). */
export const clientVariables: readonly EnvVariable[] = [
  {
    name: 'DEADDROP_HOME',
    defaultValue: '~/.deaddrop',
    meaning: 'folder of identities and state files',
    notes:
      '`agents/<id>.json`, `agents/<id>.state.json` ([PROTOCOL §1](PROTOCOL.md#files-under-deaddrop_home)); CLI: `--home` wins over it',
  },
  {
    name: 'DEADDROP_SERVER_URL',
    defaultValue: `the identity's relayUrl, else ${DEFAULT_RELAY_URL}`,
    meaning: 'the relay, an http(s) base URL',
    notes: 'without credentials, query or fragment; CLI: `--server` wins over it',
  },
  {
    name: 'DEADDROP_API_KEY',
    defaultValue: 'unset',
    meaning: 'the relay access key, when the relay requires one',
    notes: 'sent as `x-deaddrop-api-key`; printable ASCII without spaces',
  },
  {
    name: 'DEADDROP_REQUEST_TIMEOUT',
    defaultValue: durationText(DEFAULT_REQUEST_TIMEOUT_MS),
    meaning: 'how long one relay call may take (a long-poll gets its wait on top)',
    notes: `a duration between ${boundsText('DEADDROP_REQUEST_TIMEOUT')}`,
  },
  {
    name: 'DEADDROP_MAX_MESSAGE_AGE',
    defaultValue: durationText(DEFAULT_MAX_MESSAGE_AGE_MS),
    meaning: 'the oldest a message may be and still be verified, whatever TTL the relay claims',
    notes: `a duration between ${boundsText('DEADDROP_MAX_MESSAGE_AGE')}`,
  },
  {
    name: 'DEADDROP_RECEIPTS',
    defaultValue: 'on',
    meaning: 'whether to send the delivery receipts verified messages ask for',
    notes:
      '`on` or `off` ([PROTOCOL §7](PROTOCOL.md#7-delivery-receipts)); the SDK option `receipts` wins over it; receipts that arrive are reported either way',
  },
];

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
  /** `DEADDROP_RECEIPTS`: false to send no delivery receipts. */
  readonly receipts: boolean | undefined;
}

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
    receipts: onOff(env, 'DEADDROP_RECEIPTS'),
  };
}

function onOff(env: NodeJS.ProcessEnv, name: 'DEADDROP_RECEIPTS'): boolean | undefined {
  const text = nonEmpty(env[name])?.toLowerCase();
  if (text === undefined) return undefined;
  if (text === 'on') return true;
  if (text === 'off') return false;
  throw new DeadDropError('INVALID_CONFIG', `${name} must be on or off`);
}

function duration(env: NodeJS.ProcessEnv, name: keyof typeof DURATION_BOUNDS): number | undefined {
  const text = nonEmpty(env[name]);
  if (text === undefined) return undefined;
  const ms = parseDurationMs(text);
  const bounds = DURATION_BOUNDS[name];
  if (ms === null || ms < bounds.least || ms > bounds.most) {
    throw new DeadDropError(
      'INVALID_CONFIG',
      `${name} must be a duration between ${boundsText(name)}, such as 7d, 12h, 90m, 30s or 30 (seconds)`,
    );
  }
  return ms;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
