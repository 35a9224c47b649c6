// Key pinning (PROTOCOL §2): pins come only from a directory lookup (trust on first use) or a key
// the user gave; never from an incoming message. Pure decisions here; the keystore persists them.
import { z } from 'zod';

const pinSourceSchema = z.enum(['explicit', 'directory']);
export type PinSource = z.infer<typeof pinSourceSchema>;

export const pinSchema = z.object({
  key: z.string(),
  source: pinSourceSchema,
  pinnedAt: z.number().int().nonnegative(),
});
export type Pin = z.infer<typeof pinSchema>;

/** Pins by agent id: a Map, since ids come from outside (`constructor` is a valid agent id). */
export type Pins = ReadonlyMap<string, Pin>;

/** Why a message's sender is not verified. `stale` is decided by freshness, not by pins. */
export type SenderProblem = 'key-mismatch' | 'unknown-sender' | 'unpinned' | 'lookup-failed';

/** Compares a message's `fromKey` with the pin for its `from`. */
export function checkSenderKey(
  pin: Pin | undefined,
  fromKey: string,
): 'match' | 'mismatch' | 'unpinned' {
  if (pin === undefined) return 'unpinned';
  return pin.key === fromKey ? 'match' : 'mismatch';
}

export interface RecipientKeyQuestion {
  readonly existing: Pin | undefined;
  /** A key the caller gave (`--key`): pinned as `explicit`, no directory needed. */
  readonly explicitKey?: string | undefined;
  /** What the relay's directory says now (looked up when no explicit key is given). */
  readonly directoryKey?: string | undefined;
  /** The caller accepts a directory key that differs from the pin. */
  readonly acceptNewKey?: boolean | undefined;
  /** Strict mode: only explicit keys may create or replace a pin. */
  readonly requireExplicitKeys?: boolean | undefined;
  readonly now: number;
}

export type RecipientKeyDecision =
  /** The existing pin stands; nothing to write. */
  | { readonly action: 'keep'; readonly pin: Pin }
  /** Write this pin (first contact, or a change the caller accepted). */
  | { readonly action: 'pin'; readonly pin: Pin; readonly replaced: Pin | undefined }
  | { readonly action: 'refuse'; readonly reason: 'KEY_CHANGED' | 'NOT_PINNED' };

/** What to do with a recipient's key before sealing a message to it. */
export function decideRecipientKey(question: RecipientKeyQuestion): RecipientKeyDecision {
  const { existing, explicitKey, directoryKey, now } = question;
  if (explicitKey !== undefined) {
    if (existing?.key === explicitKey && existing.source === 'explicit') {
      return { action: 'keep', pin: existing };
    }
    return {
      action: 'pin',
      pin: { key: explicitKey, source: 'explicit', pinnedAt: now },
      replaced: existing,
    };
  }
  if (directoryKey === undefined) {
    throw new TypeError('decideRecipientKey needs an explicit or a directory key');
  }
  if (existing === undefined) {
    if (question.requireExplicitKeys === true) return { action: 'refuse', reason: 'NOT_PINNED' };
    return {
      action: 'pin',
      pin: { key: directoryKey, source: 'directory', pinnedAt: now },
      replaced: undefined,
    };
  }
  if (existing.key === directoryKey) return { action: 'keep', pin: existing };
  if (question.acceptNewKey !== true) return { action: 'refuse', reason: 'KEY_CHANGED' };
  if (question.requireExplicitKeys === true) return { action: 'refuse', reason: 'NOT_PINNED' };
  return {
    action: 'pin',
    pin: { key: directoryKey, source: 'directory', pinnedAt: now },
    replaced: existing,
  };
}

/** Where a pin came from, in words for people. */
export function describePinSource(source: PinSource): string {
  return source === 'directory' ? 'relay directory' : 'key you gave explicitly';
}
