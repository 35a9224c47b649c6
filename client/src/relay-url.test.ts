import { describe, expect, it } from 'vitest';
import { readClientEnv } from './env.js';
import {
  DEFAULT_RELAY_URL,
  normalizeRelayUrl,
  resolveRelayUrl,
  trpcEndpoint,
  wsEndpoint,
} from './relay-url.js';

describe('resolveRelayUrl', () => {
  it('prefers --server, then DEADDROP_SERVER_URL, then the identity file, then the default', () => {
    const flag = 'http://flag:1';
    const env = 'http://env:2';
    const identity = 'http://identity:3';
    expect(resolveRelayUrl({ flag, env, identity })).toBe(flag);
    expect(resolveRelayUrl({ env, identity })).toBe(env);
    expect(resolveRelayUrl({ identity })).toBe(identity);
    expect(resolveRelayUrl({})).toBe(DEFAULT_RELAY_URL);
    expect(DEFAULT_RELAY_URL).toBe('http://localhost:8000');
  });

  it('normalises and validates, naming the source of a bad value', () => {
    expect(normalizeRelayUrl('https://relay.example/base/', 'x')).toBe(
      'https://relay.example/base',
    );
    expect(() => resolveRelayUrl({ flag: 'relay.example' })).toThrow(/--server/);
    expect(() => resolveRelayUrl({ env: 'ws://x' })).toThrow(/DEADDROP_SERVER_URL/);
    expect(() => normalizeRelayUrl('http://u:p@x', 'x')).toThrow(/credentials/);
  });

  it('mounts tRPC at /trpc', () => {
    expect(trpcEndpoint('http://x:1')).toBe('http://x:1/trpc');
    expect(trpcEndpoint('http://x:1/trpc')).toBe('http://x:1/trpc');
  });

  it('takes WebSockets at the same endpoint, over ws or wss', () => {
    expect(wsEndpoint('http://x:1')).toBe('ws://x:1/trpc');
    expect(wsEndpoint('https://relay.example/base')).toBe('wss://relay.example/base/trpc');
  });
});

describe('readClientEnv', () => {
  it('reads the client variables, treating blanks as unset', () => {
    expect(
      readClientEnv({
        DEADDROP_HOME: '/h',
        DEADDROP_SERVER_URL: 'http://relay:8000/',
        DEADDROP_API_KEY: ' k ',
      }),
    ).toEqual({ home: '/h', serverUrl: 'http://relay:8000', apiKey: 'k' });
    expect(readClientEnv({ DEADDROP_SERVER_URL: ' ' })).toEqual({
      home: undefined,
      serverUrl: undefined,
      apiKey: undefined,
    });
  });

  it('stops on an invalid value, naming the variable', () => {
    expect(() => readClientEnv({ DEADDROP_SERVER_URL: 'nope' })).toThrow(/DEADDROP_SERVER_URL/);
    expect(() => readClientEnv({ DEADDROP_API_KEY: 'a b' })).toThrow(/DEADDROP_API_KEY/);
  });
});
