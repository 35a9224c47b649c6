// Argument checks for agent ids and keys, with messages that say what a valid one looks like.
import { agentIdSchema, parseAgentKey, type AgentPublicKey } from '@deaddrop/contract';
import { DeadDropError } from './errors.js';

export function assertAgentId(agentId: string): void {
  if (!agentIdSchema.safeParse(agentId).success) {
    throw new DeadDropError(
      'INVALID_AGENT_ID',
      `"${agentId}" is not a valid agent id: use 1–64 of a-z 0-9 . _ - starting with a letter or digit`,
    );
  }
}

/** Parses a full agent key (syntax and curve checks); `what` names it in the error. */
export function requireAgentKey(agentKey: string, what: string): AgentPublicKey {
  const key = parseAgentKey(agentKey);
  if (key === null) {
    throw new DeadDropError(
      'INVALID_AGENT_KEY',
      `${what} is not a valid agent key (expected ddk1_ followed by 86 base64url characters)`,
    );
  }
  return key;
}
