import { describe, expect, it } from 'vitest';
import { checkSenderKey, decideRecipientKey, type Pin } from './pins.js';

const now = 1_800_000_000_000;
const directoryPin: Pin = { key: 'ddk1_old', source: 'directory', pinnedAt: 1 };
const explicitPin: Pin = { key: 'ddk1_old', source: 'explicit', pinnedAt: 1 };

describe('decideRecipientKey', () => {
  it('pins the directory key on first contact (trust on first use)', () => {
    expect(decideRecipientKey({ existing: undefined, directoryKey: 'ddk1_new', now })).toEqual({
      action: 'pin',
      pin: { key: 'ddk1_new', source: 'directory', pinnedAt: now },
      replaced: undefined,
    });
  });

  it('refuses first contact without an explicit key in strict mode', () => {
    expect(
      decideRecipientKey({
        existing: undefined,
        directoryKey: 'ddk1_new',
        requireExplicitKeys: true,
        now,
      }),
    ).toEqual({ action: 'refuse', reason: 'NOT_PINNED' });
  });

  it('keeps a pin the directory agrees with', () => {
    expect(decideRecipientKey({ existing: directoryPin, directoryKey: 'ddk1_old', now })).toEqual({
      action: 'keep',
      pin: directoryPin,
    });
  });

  it('refuses a directory key that differs from the pin, whatever the pin source', () => {
    for (const existing of [directoryPin, explicitPin]) {
      expect(decideRecipientKey({ existing, directoryKey: 'ddk1_new', now })).toEqual({
        action: 'refuse',
        reason: 'KEY_CHANGED',
      });
    }
  });

  it('re-pins a changed directory key only when the caller accepts it, never in strict mode', () => {
    expect(
      decideRecipientKey({
        existing: directoryPin,
        directoryKey: 'ddk1_new',
        acceptNewKey: true,
        now,
      }),
    ).toEqual({
      action: 'pin',
      pin: { key: 'ddk1_new', source: 'directory', pinnedAt: now },
      replaced: directoryPin,
    });
    expect(
      decideRecipientKey({
        existing: directoryPin,
        directoryKey: 'ddk1_new',
        acceptNewKey: true,
        requireExplicitKeys: true,
        now,
      }),
    ).toEqual({ action: 'refuse', reason: 'NOT_PINNED' });
  });

  it('pins an explicit key as explicit, replacing any pin, even in strict mode', () => {
    expect(
      decideRecipientKey({
        existing: directoryPin,
        explicitKey: 'ddk1_new',
        requireExplicitKeys: true,
        now,
      }),
    ).toEqual({
      action: 'pin',
      pin: { key: 'ddk1_new', source: 'explicit', pinnedAt: now },
      replaced: directoryPin,
    });
    expect(decideRecipientKey({ existing: undefined, explicitKey: 'ddk1_new', now })).toMatchObject(
      {
        action: 'pin',
        pin: { source: 'explicit' },
      },
    );
  });

  it('upgrades a directory pin confirmed by the same explicit key, keeps an explicit one', () => {
    expect(
      decideRecipientKey({ existing: directoryPin, explicitKey: 'ddk1_old', now }),
    ).toMatchObject({ action: 'pin', pin: { key: 'ddk1_old', source: 'explicit' } });
    expect(decideRecipientKey({ existing: explicitPin, explicitKey: 'ddk1_old', now })).toEqual({
      action: 'keep',
      pin: explicitPin,
    });
  });
});

describe('checkSenderKey', () => {
  it('matches only the pinned key; no pin is not a match', () => {
    expect(checkSenderKey(directoryPin, 'ddk1_old')).toBe('match');
    expect(checkSenderKey(directoryPin, 'ddk1_other')).toBe('mismatch');
    expect(checkSenderKey(undefined, 'ddk1_old')).toBe('unpinned');
  });
});
