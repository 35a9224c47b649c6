// directory.publishPrekeys and directory.claimPrekey (PROTOCOL §10). The relay checks every
// prekey against the agent's directory key before storing it, so a sender that verifies against
// its pin and a relay that stores only what verifies agree; the store keeps the rest atomic (cap,
// duplicates against held prekeys, one claim per prekey).
import {
  PREKEYS_HELD_MAX,
  parseAgentKey,
  prekeyPublicKey,
  verifyPrekey,
  type ClaimPrekeyResult,
  type PublishPrekeysInput,
  type PublishPrekeysResult,
  type RequestContext,
} from '@deaddrop/contract';
import { RelayFault } from '../relay-error.js';
import type { RelayServices } from '../services.js';

export async function publishPrekeys(
  services: RelayServices,
  agentId: string,
  input: PublishPrekeysInput,
): Promise<PublishPrekeysResult> {
  const record = await services.directory.lookup(agentId);
  const signer = record === null ? null : parseAgentKey(record.agentKey);
  if (signer === null) throw new RelayFault('AGENT_NOT_FOUND', `"${agentId}"`);
  const seen = new Set<string>();
  for (const prekey of input.prekeys) {
    if (prekeyPublicKey(prekey.key) === null) throw new RelayFault('PREKEY_WEAK_KEY', prekey.id);
    if (!verifyPrekey(agentId, prekey, signer)) {
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
  const outcome = await services.store.publishPrekeys(agentId, prekeys, PREKEYS_HELD_MAX);
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
  services.metrics.prekeyClaim(claimed.prekey === null ? 'empty' : 'served');
  return claimed;
}
