// directory.publishPrekeys and directory.claimPrekey (PROTOCOL §10). The relay checks every
// prekey against the agent's directory key before storing it, so a sender that verifies against
// its pin and a relay that stores only what verifies agree; the store keeps the rest atomic (the
// key still the one checked against, cap, duplicates against held prekeys, one claim per prekey).
import {
  PREKEYS_HELD_MAX,
  parseAgentKey,
  prekeyPublicKey,
  verifyPrekey,
  verifyPrekeySignature,
  type AgentPublicKey,
  type ClaimPrekeyResult,
  type Prekey,
  type PublishPrekeysInput,
  type PublishPrekeysResult,
  type RequestContext,
} from '@deaddrop/contract';
import { RelayFault } from '../relay-error.js';
import type { RelayServices } from '../services.js';

interface DirectoryKey {
  /** As the store holds it, for its compare. */
  readonly text: string;
  readonly parsed: AgentPublicKey;
}

async function directoryKey(services: RelayServices, agentId: string): Promise<DirectoryKey> {
  const record = await services.directory.lookup(agentId);
  const parsed = record === null ? null : parseAgentKey(record.agentKey);
  if (record === null || parsed === null) throw new RelayFault('AGENT_NOT_FOUND', `"${agentId}"`);
  return { text: record.agentKey, parsed };
}

export async function publishPrekeys(
  services: RelayServices,
  agentId: string,
  input: PublishPrekeysInput,
): Promise<PublishPrekeysResult> {
  let signer = await directoryKey(services, agentId);
  const seen = new Set<string>();
  for (const prekey of input.prekeys) {
    if (prekeyPublicKey(prekey.key) === null) throw new RelayFault('PREKEY_WEAK_KEY', prekey.id);
    if (!verifyPrekeySignature(agentId, prekey, signer.parsed)) {
      throw new RelayFault('PREKEY_BAD_SIGNATURE', prekey.id);
    }
    // Checked here too so a call that repeats itself is refused whatever the store holds.
    if (seen.has(prekey.id) || seen.has(prekey.key)) {
      throw new RelayFault('PREKEY_DUPLICATE', prekey.id);
    }
    seen.add(prekey.id);
    seen.add(prekey.key);
  }
  const prekeys = input.prekeys.map(({ id, key, sig }) => ({ id, key, sig }));
  let outcome = await services.store.publishPrekeys(
    agentId,
    prekeys,
    PREKEYS_HELD_MAX,
    signer.text,
  );
  if (outcome.status === 'key-changed') {
    // The key was rotated between the check and the store (through this process or another; the
    // cache may be behind): judged once more against the store's key, which refuses prekeys the
    // old key signed — the rotation deleted those, they must not come back.
    services.directory.forget(agentId);
    signer = await directoryKey(services, agentId);
    refuseUnsignedBy(agentId, input.prekeys, signer.parsed);
    outcome = await services.store.publishPrekeys(agentId, prekeys, PREKEYS_HELD_MAX, signer.text);
  }
  switch (outcome.status) {
    case 'stored':
      return { stored: outcome.stored, total: outcome.total };
    case 'full': {
      const fit = Math.max(0, PREKEYS_HELD_MAX - outcome.total);
      throw new RelayFault(
        'PREKEYS_FULL',
        `it holds ${outcome.total}, so ${fit} more fit (this call has ${prekeys.length})`,
      );
    }
    case 'duplicate':
      throw new RelayFault('PREKEY_DUPLICATE', outcome.id);
    case 'no-agent':
      services.directory.forget(agentId);
      throw new RelayFault('AGENT_NOT_FOUND', `"${agentId}"`);
    case 'key-changed':
      // Rotated again between two round trips: a race the client's next call settles.
      services.directory.forget(agentId);
      throw new RelayFault(
        'PREKEY_BAD_SIGNATURE',
        'the agent’s key changed again while they were being stored; publish again',
      );
  }
}

function refuseUnsignedBy(
  agentId: string,
  prekeys: readonly Prekey[],
  signer: AgentPublicKey,
): void {
  for (const prekey of prekeys) {
    if (!verifyPrekey(agentId, prekey, signer)) {
      throw new RelayFault(
        'PREKEY_BAD_SIGNATURE',
        `${prekey.id} (signed by a key that is no longer the agent’s: it was rotated)`,
      );
    }
  }
}

/**
 * The oldest prekey, removed. Limited per (address, mailbox) before the store is touched, so a
 * refused claim burns nothing; each outcome is counted so draining is visible.
 */
export async function claimPrekey(
  services: RelayServices,
  agentId: string,
  ctx: Pick<RequestContext, 'clientIp'>,
): Promise<ClaimPrekeyResult> {
  if ((await services.directory.lookup(agentId)) === null) {
    throw new RelayFault('AGENT_NOT_FOUND', `"${agentId}"`);
  }
  try {
    await services.limiter.prekeyClaim(ctx.clientIp, agentId);
  } catch (error) {
    if (error instanceof RelayFault && error.reason === 'RATE_LIMITED') {
      services.metrics.prekeyClaim('refused');
    }
    throw error;
  }
  const claimed = await services.store.claimPrekey(agentId);
  if (claimed === null) {
    // The store lost the agent (PROTOCOL §10 "Re-registration") while this process still caches
    // it: not found, as lookup and send answer, never "none left".
    services.directory.forget(agentId);
    throw new RelayFault('AGENT_NOT_FOUND', `"${agentId}"`);
  }
  services.metrics.prekeyClaim(claimed.prekey === null ? 'empty' : 'served');
  return claimed;
}
