// Signed key rotation (PROTOCOL §10): the statement both the old and the new key sign, and the
// verification of one step and of a chain of steps from a pinned key to the directory's key.
import { fromB64u, toB64u, utf8 } from './encoding/b64u.js';
import { signDetached, verifyDetached } from './crypto/primitives.js';
import { parseAgentKey, type AgentKeys } from './identity.js';
import { ROTATIONS_MAX, type RotationStep } from './schemas/rotation.js';

const ROTATE_DOMAIN = 'deaddrop/rotate/v1';

export interface RotationStatement {
  readonly relayId: string;
  readonly agentId: string;
  readonly oldKey: string;
  readonly newKey: string;
  readonly ts: number;
}

/** `"deaddrop/rotate/v1" \0 relayId \0 agentId \0 oldKey \0 newKey \0 ts` (ts in decimal). */
export function rotationSignedBytes(statement: RotationStatement): Uint8Array {
  const { relayId, agentId, oldKey, newKey, ts } = statement;
  return utf8([ROTATE_DOMAIN, relayId, agentId, oldKey, newKey, String(ts)].join('\0'));
}

/** Signs a rotation from `oldKeys` to `newKeys`: the old key authorises, the new proves possession. */
export function signRotation(input: {
  readonly relayId: string;
  readonly agentId: string;
  readonly oldKeys: Pick<AgentKeys, 'signing' | 'agentKey'>;
  readonly newKeys: Pick<AgentKeys, 'signing' | 'agentKey'>;
  readonly ts?: number;
}): RotationStep {
  const ts = input.ts ?? Date.now();
  const oldKey = input.oldKeys.agentKey;
  const newKey = input.newKeys.agentKey;
  const message = rotationSignedBytes({
    relayId: input.relayId,
    agentId: input.agentId,
    oldKey,
    newKey,
    ts,
  });
  return {
    oldKey,
    newKey,
    ts,
    sigOld: toB64u(signDetached(input.oldKeys.signing.privateKey, message)),
    sigNew: toB64u(signDetached(input.newKeys.signing.privateKey, message)),
  };
}

/** Why one step does not verify; null when it does. */
export type RotationStepFault = 'bad-key' | 'bad-sig-old' | 'bad-sig-new';

/**
 * Checks one step for `agentId` on relay `relayId`: both keys valid and not weak, `sigOld` by the
 * old key's signPk and `sigNew` by the new key's. The relay id is inside the signed bytes, so a
 * statement made for another relay fails here as a bad signature.
 */
export function verifyRotationStep(
  relayId: string,
  agentId: string,
  step: RotationStep,
): RotationStepFault | null {
  const oldKey = parseAgentKey(step.oldKey);
  const newKey = parseAgentKey(step.newKey);
  if (oldKey === null || newKey === null || step.oldKey === step.newKey) return 'bad-key';
  const message = rotationSignedBytes({
    relayId,
    agentId,
    oldKey: step.oldKey,
    newKey: step.newKey,
    ts: step.ts,
  });
  const sigOld = fromB64u(step.sigOld);
  if (sigOld === null || !verifyDetached(oldKey.verifyKey, message, sigOld)) return 'bad-sig-old';
  const sigNew = fromB64u(step.sigNew);
  if (sigNew === null || !verifyDetached(newKey.verifyKey, message, sigNew)) return 'bad-sig-new';
  return null;
}

export type RotationChainVerdict =
  | { readonly ok: true; readonly steps: readonly RotationStep[] }
  | { readonly ok: false; readonly reason: 'no-chain' | 'too-long' | RotationStepFault };

/**
 * Whether `rotations` (oldest first, as the directory answers) lead from `fromKey` (a pin) to
 * `toKey` (the directory's key), every step verified; the steps followed when they do. The chain
 * starts at a step whose old key is the pin (a peer may have pinned after earlier rotations) and
 * runs to the end of the list, each step's old key the previous step's new key. A key may come
 * back (A → B → A → C), so each start is tried; the list is bounded, and so is the work.
 */
export function verifyRotationChain(input: {
  readonly relayId: string;
  readonly agentId: string;
  readonly fromKey: string;
  readonly toKey: string;
  readonly rotations: readonly RotationStep[];
}): RotationChainVerdict {
  const { rotations } = input;
  if (rotations.length > ROTATIONS_MAX) return { ok: false, reason: 'too-long' };
  const last = rotations.at(-1);
  if (last === undefined || last.newKey !== input.toKey) return { ok: false, reason: 'no-chain' };
  let fault: RotationStepFault | null = null;
  for (let start = 0; start < rotations.length; start++) {
    if (rotations[start]?.oldKey !== input.fromKey) continue;
    const steps = rotations.slice(start);
    if (!isContiguous(steps)) continue;
    fault = firstFault(input.relayId, input.agentId, steps);
    if (fault === null) return { ok: true, steps };
  }
  return { ok: false, reason: fault ?? 'no-chain' };
}

function isContiguous(steps: readonly RotationStep[]): boolean {
  return steps.every((step, index) => index === 0 || steps[index - 1]?.newKey === step.oldKey);
}

function firstFault(
  relayId: string,
  agentId: string,
  steps: readonly RotationStep[],
): RotationStepFault | null {
  for (const step of steps) {
    const fault = verifyRotationStep(relayId, agentId, step);
    if (fault !== null) return fault;
  }
  return null;
}
