// directory.register, directory.lookup (PROTOCOL §3 "register") and directory.rotate (§10).
import {
  fingerprint,
  parseAgentKey,
  verifyRegistrationSignature,
  verifyRotationStep,
  type DirectoryRecord,
  type RegisterInput,
  type RotateInput,
} from '@deaddrop/contract';
import { RelayFault } from '../relay-error.js';
import type { KeyRotationOutcome } from '../metrics/relay-metrics.js';
import type { RelayServices } from '../services.js';

export async function registerAgent(
  services: RelayServices,
  input: RegisterInput,
): Promise<DirectoryRecord> {
  const key = parseAgentKey(input.agentKey);
  if (key === null) throw new RelayFault('WEAK_AGENT_KEY');
  const windowMs = services.limits.authWindowSeconds * 1000;
  if (Math.abs(input.ts - services.now()) > windowMs) throw new RelayFault('REGISTER_STALE');
  if (!verifyRegistrationSignature(services.relayId, input, key.verifyKey)) {
    throw new RelayFault('REGISTER_BAD_SIGNATURE');
  }
  const outcome = await services.store.register({
    agentId: input.agentId,
    agentKey: input.agentKey,
    registeredAt: services.now(),
  });
  if (outcome.status === 'conflict') throw new RelayFault('AGENT_ID_TAKEN', `"${input.agentId}"`);
  if (outcome.status === 'created') {
    const record = { ...outcome.record, rotations: [] };
    services.directory.remember(record);
    return record;
  }
  // Registered before, maybe rotated since: the stored record with its history.
  return lookupAgent(services, input.agentId);
}

/**
 * Checks a rotation against the key the store holds now (read past this process's cache), then
 * lets the store swap it only if it is still that key: a replayed statement fails on the window or,
 * within it, on the key (its old key is no longer current).
 */
export async function rotateAgentKey(
  services: RelayServices,
  input: RotateInput,
): Promise<DirectoryRecord> {
  const refused = (outcome: KeyRotationOutcome): void => {
    services.metrics.keyRotation(outcome);
  };
  if (parseAgentKey(input.newKey) === null) {
    refused('refused');
    throw new RelayFault('WEAK_AGENT_KEY');
  }
  const windowMs = services.limits.authWindowSeconds * 1000;
  if (Math.abs(input.ts - services.now()) > windowMs) {
    refused('refused');
    throw new RelayFault('ROTATE_STALE');
  }
  const current = await services.store.lookup(input.agentId);
  if (current === null) throw new RelayFault('AGENT_NOT_FOUND', `"${input.agentId}"`);
  if (current.agentKey === input.newKey) {
    refused('refused');
    throw new RelayFault('WEAK_AGENT_KEY', 'the new key is the current key');
  }
  const step = {
    oldKey: current.agentKey,
    newKey: input.newKey,
    ts: input.ts,
    sigOld: input.sigOld,
    sigNew: input.sigNew,
  };
  if (verifyRotationStep(services.relayId, input.agentId, step) !== null) {
    refused('refused');
    throw new RelayFault('ROTATE_BAD_SIGNATURE');
  }
  const outcome = await services.store.rotate(input.agentId, step);
  // Whatever the outcome, what this process cached for the agent may be stale now.
  services.directory.forget(input.agentId);
  switch (outcome) {
    case 'no-agent':
      throw new RelayFault('AGENT_NOT_FOUND', `"${input.agentId}"`);
    case 'key-mismatch':
      refused('conflict');
      throw new RelayFault('ROTATE_KEY_CHANGED');
    case 'rotated':
      services.metrics.keyRotation('rotated');
      // Public facts only: fingerprints, never keys or signatures.
      services.log.info('key rotated', {
        agentId: input.agentId,
        fromFingerprint: fingerprintOf(step.oldKey),
        toFingerprint: fingerprintOf(step.newKey),
      });
      return lookupAgent(services, input.agentId);
  }
}

// Read from the store, not this process's cache, so peers see what the store holds: an agent a
// lost store forgot is not found, a rotated key is the new one (PROTOCOL §10).
export async function lookupAgent(
  services: RelayServices,
  agentId: string,
): Promise<DirectoryRecord> {
  const record = await services.store.lookup(agentId);
  if (record === null) throw new RelayFault('AGENT_NOT_FOUND', `"${agentId}"`);
  return record;
}

function fingerprintOf(agentKey: string): string {
  const key = parseAgentKey(agentKey);
  return key === null ? '(malformed key)' : fingerprint(key);
}
