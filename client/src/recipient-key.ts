// Which key to seal a message to (PROTOCOL §2): the pin, a key the caller gave, or, on first
// contact, the directory's; a directory key that differs from the pin is refused unless accepted.
import { parseAgentKey, fingerprint, type AgentPublicKey } from '@deaddrop/contract';
import { DeadDropError } from './errors.js';
import { decideRecipientKey, describePinSource, type Pin } from './pins.js';
import { requireAgentKey } from './validate-agent.js';

export interface RecipientKey {
  readonly key: AgentPublicKey;
  readonly pin: Pin;
  /** `new`: first contact, pin to save; `replaced`: an accepted change, pin to save. */
  readonly pinChange: 'none' | 'new' | 'replaced';
}

export interface RecipientKeyInput {
  readonly to: string;
  readonly existing: Pin | undefined;
  readonly explicitKey: string | undefined;
  readonly acceptNewKey: boolean | undefined;
  readonly requireExplicitKeys: boolean;
  readonly now: number;
  /** Asked only when no explicit key is given. */
  readonly lookup: () => Promise<{ readonly agentKey: string; readonly fingerprint: string }>;
  /**
   * Asked before an explicit key becomes a new pin (not when it is the explicit pin already):
   * throws when the directory disagrees; answers the pin to save (the given one, or the
   * directory's key when verified rotations lead there from it). Undefined: the caller accepted
   * the key as it is.
   */
  readonly checkExplicitKey?: ((given: Pin) => Promise<Pin>) | undefined;
  /** The pin to move to when the directory shows verified rotations from `existing`; else null. */
  readonly followRotation?: (existing: Pin) => Promise<Pin | null>;
}

export async function resolveRecipientKey(input: RecipientKeyInput): Promise<RecipientKey> {
  const { to, existing, explicitKey } = input;
  if (explicitKey !== undefined) requireAgentKey(explicitKey, `the key given for "${to}"`);
  const directory = explicitKey === undefined ? await input.lookup() : undefined;
  const decision = decideRecipientKey({
    existing,
    explicitKey,
    directoryKey: directory?.agentKey,
    acceptNewKey: input.acceptNewKey,
    requireExplicitKeys: input.requireExplicitKeys,
    now: input.now,
  });
  if (decision.action === 'pin' && explicitKey !== undefined && input.checkExplicitKey) {
    const pin = await input.checkExplicitKey(decision.pin);
    // Followed to the key already pinned explicitly: nothing changes.
    const unchanged = existing?.key === pin.key && existing.source === 'explicit';
    return {
      key: requireAgentKey(pin.key, `the key for "${to}"`),
      pin: unchanged ? existing : pin,
      pinChange: unchanged ? 'none' : decision.replaced === undefined ? 'new' : 'replaced',
    };
  }
  switch (decision.action) {
    case 'refuse':
      if (decision.reason === 'KEY_CHANGED' && existing !== undefined && directory !== undefined) {
        const moved = await input.followRotation?.(existing);
        if (moved != null) {
          return {
            key: requireAgentKey(moved.key, `the rotated key for "${to}"`),
            pin: moved,
            pinChange: 'replaced',
          };
        }
        throw new DeadDropError(
          'KEY_CHANGED',
          `the relay directory's key for "${to}" (fingerprint ${directory.fingerprint}) differs from your pin (fingerprint ${fingerprintOf(existing.key)}, from the ${describePinSource(existing.source)} on ${new Date(existing.pinnedAt).toISOString()}); confirm the new fingerprint with ${to} out of band, then pass their new agent key explicitly (--key)`,
        );
      }
      throw notPinned(to);
    case 'keep':
      return {
        key: requireAgentKey(decision.pin.key, `the pinned key for "${to}"`),
        pin: decision.pin,
        pinChange: 'none',
      };
    case 'pin':
      return {
        key: requireAgentKey(decision.pin.key, `the key for "${to}"`),
        pin: decision.pin,
        pinChange: decision.replaced === undefined ? 'new' : 'replaced',
      };
  }
}

function fingerprintOf(agentKey: string): string {
  const key = parseAgentKey(agentKey);
  return key === null ? '(malformed key)' : fingerprint(key);
}

/**
 * Strict mode (`requireExplicitKeys`) refuses a recipient with neither a pin nor a key given:
 * known before any request, so no prekey is claimed for a send that cannot seal.
 */
export function refusedBeforeLookup(input: {
  readonly to: string;
  readonly existing: Pin | undefined;
  readonly explicitKey: string | undefined;
  readonly requireExplicitKeys: boolean;
}): DeadDropError | null {
  return input.requireExplicitKeys &&
    input.existing === undefined &&
    input.explicitKey === undefined
    ? notPinned(input.to)
    : null;
}

function notPinned(to: string): DeadDropError {
  return new DeadDropError(
    'NOT_PINNED',
    `no trusted key for "${to}" and explicit keys are required: get ${to}'s agent key out of band (\`deaddrop key ${to}\` on their machine) and pass it explicitly (--key)`,
  );
}
