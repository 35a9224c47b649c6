// The one agent identity this MCP server acts as: loaded from DEADDROP_HOME, or created there on
// first start. Registration on the relay is AgentContext's (it is retried when the relay is down).
import {
  DEFAULT_RELAY_URL,
  DeadDropClient,
  createIdentity,
  isDeadDropError,
  loadIdentity,
  warnAboutExposedFiles,
  type ReceiptEvent,
} from '@deaddrop/client';
import type { McpConfig } from './env.js';

export interface AgentStart {
  readonly client: DeadDropClient;
  /** True when the identity was created by this start. */
  readonly created: boolean;
}

/**
 * Opens the agent's identity (creating it on first start); `warn` hears of identity files and
 * folders other users can read or write (the identity holds the agent's secret key), `onReceipt`
 * of each delivery receipt the client reads.
 */
export async function openAgentClient(
  config: McpConfig,
  warn: (line: string) => void = () => undefined,
  onReceipt?: (event: ReceiptEvent) => void,
): Promise<AgentStart> {
  let created = false;
  let identity;
  try {
    identity = await loadIdentity(config.agentId, { home: config.home });
  } catch (error) {
    if (!isDeadDropError(error, 'IDENTITY_NOT_FOUND')) throw error;
    identity = await createIdentity(config.agentId, {
      home: config.home,
      relayUrl: config.serverUrl ?? DEFAULT_RELAY_URL,
    });
    created = true;
  }
  await warnAboutExposedFiles(warn, identity.home, [identity.agentId]);
  const client = new DeadDropClient({
    identity,
    relayUrl: config.serverUrl ?? identity.relayUrl,
    apiKey: config.relayApiKey,
    maxMessageAgeMs: config.maxMessageAgeMs,
    requestTimeoutMs: config.requestTimeoutMs,
    receipts: config.receipts,
    onReceipt,
  });
  return { client, created };
}
