import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareMessageIds } from './message-id.js';

describe('compareMessageIds', () => {
  it('orders by ms, then seq, numerically', () => {
    const ids = ['10-0', '9-12', '9-2', '0-0', '1800000000000-10', '1800000000000-9', '10-1'];
    expect([...ids].sort(compareMessageIds)).toEqual([
      '0-0',
      '9-2',
      '9-12',
      '10-0',
      '10-1',
      '1800000000000-9',
      '1800000000000-10',
    ]);
    expect(compareMessageIds('5-5', '5-5')).toBe(0);
  });

  it('agrees with BigInt order on 16-digit parts', () => {
    const part = fc.bigInt({ min: 0n, max: 9_999_999_999_999_999n });
    fc.assert(
      fc.property(part, part, part, part, (aMs, aSeq, bMs, bSeq) => {
        const expected =
          aMs === bMs ? Math.sign(Number(aSeq - bSeq)) : Math.sign(Number(aMs - bMs));
        expect(Math.sign(compareMessageIds(`${aMs}-${aSeq}`, `${bMs}-${bSeq}`))).toBe(expected);
      }),
    );
  });
});
