import { describe, expect, it } from 'vitest';
import { createAddressConnections } from './address-connections.js';

describe('live connections per address', () => {
  it('refuses past the cap, counting each address on its own', () => {
    const connections = createAddressConnections(2);
    expect(connections.acquire('192.0.2.1')).not.toBeNull();
    expect(connections.acquire('192.0.2.1')).not.toBeNull();
    expect(connections.acquire('192.0.2.1')).toBeNull();
    expect(connections.acquire('192.0.2.2')).not.toBeNull();
    expect(connections.count('192.0.2.1')).toBe(2);
    expect(connections.count('192.0.2.2')).toBe(1);
  });

  it('gives a slot back once, however often its release is called', () => {
    const connections = createAddressConnections(2);
    const first = connections.acquire('192.0.2.1');
    const second = connections.acquire('192.0.2.1');
    first?.();
    first?.();
    expect(connections.count('192.0.2.1')).toBe(1);
    expect(connections.acquire('192.0.2.1')).not.toBeNull();
    expect(connections.acquire('192.0.2.1')).toBeNull();
    second?.();
    expect(connections.count('192.0.2.1')).toBe(1);
  });

  it('counts without a cap when the cap is 0', () => {
    const connections = createAddressConnections(0);
    const releases = Array.from({ length: 1000 }, () => connections.acquire('192.0.2.1'));
    expect(releases.every((release) => release !== null)).toBe(true);
    expect(connections.count('192.0.2.1')).toBe(1000);
    for (const release of releases) release?.();
    expect(connections.count('192.0.2.1')).toBe(0);
  });
});
