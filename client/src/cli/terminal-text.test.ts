import { describe, expect, it } from 'vitest';
import { printable, printableLine } from './terminal-text.js';

describe('printable', () => {
  it('escapes what a terminal would obey, and keeps tabs, newlines and ordinary text', () => {
    expect(printable('plain ✓ text\twith\nlines')).toBe('plain ✓ text\twith\nlines');
    expect(printable('\u001b[2J\u001b]0;title\u0007')).toBe('\\u001b[2J\\u001b]0;title\\u0007');
    expect(printable('\u009b31m \r \u007f \u0000')).toBe('\\u009b31m \\u000d \\u007f \\u0000');
    expect(printable('abc\u202edcba\u2066x\u2069')).toBe('abc\\u202edcba\\u2066x\\u2069');
  });

  it('keeps stderr lines single lines', () => {
    expect(printableLine('could not delete: later\nfrom alice ✓ verified')).toBe(
      'could not delete: later\\u000afrom alice ✓ verified',
    );
  });

  it('keeps a JSON line valid JSON with the same value', () => {
    const value = { body: 'a\u009bb\u2028c\u202ed' };
    expect(JSON.parse(printable(JSON.stringify(value)))).toEqual(value);
  });
});
