// Which relay a client talks to (PROTOCOL §1): the CLI's `--server`, else `DEADDROP_SERVER_URL`,
// else the identity file's `relayUrl`, else http://localhost:8000.
import { DeadDropError } from './errors.js';

export const DEFAULT_RELAY_URL = 'http://localhost:8000';

export interface RelayUrlSources {
  /** An explicit choice (the CLI's `--server`, an SDK option). */
  readonly flag?: string | undefined;
  /** `DEADDROP_SERVER_URL`. */
  readonly env?: string | undefined;
  /** The identity file's `relayUrl`. */
  readonly identity?: string | undefined;
}

export function resolveRelayUrl(sources: RelayUrlSources): string {
  if (sources.flag !== undefined) return normalizeRelayUrl(sources.flag, '--server');
  if (sources.env !== undefined) return normalizeRelayUrl(sources.env, 'DEADDROP_SERVER_URL');
  if (sources.identity !== undefined) return normalizeRelayUrl(sources.identity, 'relayUrl');
  return DEFAULT_RELAY_URL;
}

/** An http(s) base URL without trailing slash, query or fragment; `what` names the source in errors. */
export function normalizeRelayUrl(text: string, what: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DeadDropError('INVALID_CONFIG', `${what} must be an http(s) URL, got "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DeadDropError('INVALID_CONFIG', `${what} must be an http(s) URL, got "${text}"`);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new DeadDropError(
      'INVALID_CONFIG',
      `${what} must be a plain base URL without credentials, query or fragment`,
    );
  }
  return url.href.replace(/\/+$/, '');
}

/** The tRPC endpoint under a relay base URL (accepts a URL that already ends in /trpc). */
export function trpcEndpoint(relayUrl: string): string {
  return relayUrl.endsWith('/trpc') ? relayUrl : `${relayUrl}/trpc`;
}

/** The WebSocket endpoint of a relay: its tRPC endpoint over ws(s) on the same port. */
export function wsEndpoint(relayUrl: string): string {
  return trpcEndpoint(relayUrl).replace(/^http/, 'ws');
}
