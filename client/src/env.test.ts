import { describe, expect, it } from 'vitest';
import { durationText } from './duration.js';
import { clientVariables, readClientEnv } from './env.js';

describe('readClientEnv', () => {
  it('reads exactly the variables it declares', () => {
    const read = new Set<string>();
    const env = new Proxy<NodeJS.ProcessEnv>(
      {},
      {
        get: (_target, name) => {
          if (typeof name === 'string') read.add(name);
          return undefined;
        },
      },
    );
    readClientEnv(env);
    expect([...read].sort()).toEqual(clientVariables.map((variable) => variable.name).sort());
  });

  it('says its defaults as durations the variables take', () => {
    expect(durationText(604_800_000)).toBe('7d');
    expect(durationText(30_000)).toBe('30s');
    expect(durationText(100)).toBe('100ms');
    expect(durationText(90_000)).toBe('90s');
    const defaults = new Map(clientVariables.map((v) => [v.name, v.defaultValue]));
    expect(defaults.get('DEADDROP_MAX_MESSAGE_AGE')).toBe('7d');
    expect(defaults.get('DEADDROP_REQUEST_TIMEOUT')).toBe('30s');
  });

  it('parses durations and refuses what is not one, naming the variable', () => {
    expect(readClientEnv({ DEADDROP_MAX_MESSAGE_AGE: '12h' }).maxMessageAgeMs).toBe(43_200_000);
    expect(readClientEnv({ DEADDROP_REQUEST_TIMEOUT: '1500ms' }).requestTimeoutMs).toBe(1_500);
    expect(readClientEnv({ DEADDROP_REQUEST_TIMEOUT: '45' }).requestTimeoutMs).toBe(45_000);
    expect(() => readClientEnv({ DEADDROP_MAX_MESSAGE_AGE: '5 days' })).toThrow(
      /DEADDROP_MAX_MESSAGE_AGE must be a duration/,
    );
    expect(() => readClientEnv({ DEADDROP_REQUEST_TIMEOUT: '2d' })).toThrow(
      /DEADDROP_REQUEST_TIMEOUT must be a duration between 100ms and 1h/,
    );
  });

  it('reads DEADDROP_RECEIPTS as on or off, naming it otherwise', () => {
    expect(readClientEnv({}).receipts).toBeUndefined();
    expect(readClientEnv({ DEADDROP_RECEIPTS: 'off' }).receipts).toBe(false);
    expect(readClientEnv({ DEADDROP_RECEIPTS: ' ON ' }).receipts).toBe(true);
    expect(() => readClientEnv({ DEADDROP_RECEIPTS: 'no' })).toThrow(
      /DEADDROP_RECEIPTS must be on or off/,
    );
  });
});
