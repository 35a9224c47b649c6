// directory.register and directory.lookup (PROTOCOL §3 "register").
import {
  parseAgentKey,
  verifyRegistrationSignature,
  type AgentRecord,
  type RegisterInput,
} from '@deaddrop/contract';
import { RelayFault } from '../relay-error.js';
import type { RelayServices } from '../services.js';

export async function registerAgent(
  services: RelayServices,
  input: RegisterInput,
): Promise<AgentRecord> {
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
  services.directory.remember(outcome.record);
  return outcome.record;
}

// Read from the store, not this process's cache, so peers see what the store holds: an agent a
// lost store forgot is not found, a rotated key is the new one (PROTOCOL §10).
export async function lookupAgent(services: RelayServices, agentId: string): Promise<AgentRecord> {
  const record = await services.store.lookup(agentId);
  if (record === null) throw new RelayFault('AGENT_NOT_FOUND', `"${agentId}"`);
  return record;
}
