// The client address that per-address rate limits count. Behind proxies the socket's peer is the
// proxy, so with TRUST_PROXY_HOPS = n the address is the n-th `X-Forwarded-For` entry from the
// right (the one the outermost trusted proxy saw); entries further left are the client's to forge.
import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';

export function clientAddress(req: IncomingMessage, trustProxyHops: number): string {
  let address = req.socket.remoteAddress ?? '';
  if (trustProxyHops > 0) {
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    const trusted = hops.at(-Math.min(trustProxyHops, hops.length));
    if (trusted !== undefined) address = trusted;
  }
  return normalizeAddress(address);
}

/**
 * One bucket per IPv4 address, and per IPv6 /64: a single host usually holds a whole /64, so
 * counting single IPv6 addresses would let it rotate through 2^64 of them.
 */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!isIPv6(address)) return address === '' ? 'unknown' : address;
  const groups = expandIPv6(address);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const parse = (part: string): string[] =>
    part === '' ? [] : part.split(':').map((group) => parseInt(group, 16).toString(16));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const zeros = new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...zeros, ...right];
}
