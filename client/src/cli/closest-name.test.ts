import { describe, expect, it } from 'vitest';
import { closestName, editDistance } from './closest-name.js';

describe('did you mean', () => {
  it('counts a swap of two neighbours as one edit', () => {
    expect(editDistance('recieve', 'receive')).toBe(1);
    expect(editDistance('', 'key')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests a close name, ignoring case, and nothing for another word or letter', () => {
    const names = ['init', 'key', 'send', 'receive', 'listen', 'stats', 'whoami', 'list'];
    expect(closestName('recieve', names)).toBe('receive');
    expect(closestName('whomai', names)).toBe('whoami');
    expect(closestName('SEND', names)).toBe('send');
    expect(closestName('frobnicate', names)).toBeUndefined();
    expect(closestName('x', ['h', 'v'])).toBeUndefined();
    expect(closestName('V', ['h', 'v'])).toBe('v');
  });
});
