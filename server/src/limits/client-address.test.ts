import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddress, normalizeAddress } from './client-address.js';

function request(remoteAddress: string, forwardedFor?: string | string[]): IncomingMessage {
  return {
    socket: { remoteAddress },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  } as unknown as IncomingMessage;
}

describe('client addresses for rate limits', () => {
  it('counts IPv4 (also IPv4-mapped) per address and IPv6 per /64', () => {
    expect(normalizeAddress('203.0.113.7')).toBe('203.0.113.7');
    expect(normalizeAddress('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(normalizeAddress('2001:db8:a:b:1:2:3:4')).toBe('2001:db8:a:b::/64');
    expect(normalizeAddress('2001:db8:a:b::99')).toBe('2001:db8:a:b::/64');
    expect(normalizeAddress('2001:DB8:0A::1')).toBe('2001:db8:a:0::/64');
    expect(normalizeAddress('::1')).toBe('0:0:0:0::/64');
    expect(normalizeAddress('')).toBe('unknown');
  });

  it('uses the socket address unless proxies are trusted', () => {
    expect(clientAddress(request('198.51.100.1', '192.0.2.1'), 0)).toBe('198.51.100.1');
  });

  it('takes the entry the outermost trusted proxy saw, never one further left', () => {
    const req = request('10.0.0.2', 'forged, 192.0.2.1, 10.0.0.1');
    expect(clientAddress(req, 1)).toBe('10.0.0.1');
    expect(clientAddress(req, 2)).toBe('192.0.2.1');
    // More hops configured than entries present: the leftmost is all there is.
    expect(clientAddress(request('10.0.0.2', '192.0.2.9'), 3)).toBe('192.0.2.9');
    expect(clientAddress(request('10.0.0.2', ['192.0.2.1', '10.0.0.1']), 1)).toBe('10.0.0.1');
    expect(clientAddress(request('10.0.0.2'), 1)).toBe('10.0.0.2');
  });
});
