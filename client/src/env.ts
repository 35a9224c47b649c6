// The only place the SDK and CLI read `process.env` (PROTOCOL §5: client variables).
import { DeadDropError } from './errors.js';
import { normalizeRelayUrl } from './relay-url.js';

export interface ClientEnv {
  /** `DEADDROP_HOME`: where identities live. */
  readonly home: string | undefined;
  /** `DEADDROP_SERVER_URL`: the relay, unless a flag names another. */
  readonly serverUrl: string | undefined;
  /** `DEADDROP_API_KEY`: the relay access key, if the relay needs one. */
  readonly apiKey: string | undefined;
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
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
