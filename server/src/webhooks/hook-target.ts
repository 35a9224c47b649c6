// Where a notice may go (PROTOCOL §9): `https:` to public addresses, anything the operator listed
// in DEADDROP_WEBHOOK_ALLOWED_HOSTS. Checked when a hook is set (the URL's own text) and before
// every notice (each address the host resolves to), so a name that later resolves inside the
// relay's network is refused then.
import { lookup as dnsLookup } from 'node:dns/promises';
import { classifyAddress } from './address-class.js';

/** `host` or `host:port` entries, lowercased; an IPv6 host in brackets (`[::1]:8080`). */
export type AllowedHosts = ReadonlySet<string>;

export function allowedHostsFrom(entries: readonly string[]): AllowedHosts {
  return new Set(entries.map((entry) => entry.toLowerCase()));
}

function defaultPort(url: URL): string {
  return url.protocol === 'https:' ? '443' : '80';
}

function isAllowListed(url: URL, allowed: AllowedHosts): boolean {
  const host = url.hostname.toLowerCase();
  return allowed.has(host) || allowed.has(`${host}:${url.port || defaultPort(url)}`);
}

/** Why `text` cannot be a hook's URL on this relay, or null when it can. */
export function refusedHookUrl(text: string, allowed: AllowedHosts): string | null {
  const url = new URL(text);
  if (isAllowListed(url, allowed)) return null;
  if (url.protocol !== 'https:') return 'http: is only for hosts the operator allow-listed';
  const host = url.hostname.toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return 'localhost is not reachable';
  const kind = classifyAddress(host);
  if (kind !== 'public' && kind !== 'invalid') return `the address is ${kind}`;
  return null;
}

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) => {
  const found = await dnsLookup(hostname, { all: true, verbatim: true });
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

export type HookTarget =
  | { readonly ok: true; readonly address: ResolvedAddress }
  | { readonly ok: false; readonly reason: string };

/**
 * The address a notice connects to: the host resolved now, every address checked unless the host
 * is allow-listed. The caller connects to this very address (no second lookup a rebinding DNS
 * server could answer differently).
 */
export async function resolveHookTarget(
  url: URL,
  allowed: AllowedHosts,
  resolve: Resolver,
): Promise<HookTarget> {
  if (url.protocol !== 'https:' && !isAllowListed(url, allowed))
    return { ok: false, reason: 'http: is only for hosts the operator allow-listed' };
  const bare = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: readonly ResolvedAddress[];
  try {
    addresses = await resolve(bare);
  } catch {
    return { ok: false, reason: 'host does not resolve' };
  }
  const first = addresses[0];
  if (first === undefined) return { ok: false, reason: 'host does not resolve' };
  if (!isAllowListed(url, allowed)) {
    for (const { address } of addresses) {
      const kind = classifyAddress(address);
      if (kind !== 'public') return { ok: false, reason: `host resolves to a ${kind} address` };
    }
  }
  return { ok: true, address: first };
}
