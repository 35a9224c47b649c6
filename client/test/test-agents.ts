// What the SDK's end-to-end tests of one relay share: registered agents in a scratch folder, the
// same agent opened again as another process would, waiting for a condition, and an entry's body
// or error.
import { join } from 'node:path';
import { DeadDropClient } from '../src/client.js';
import { isUnreadable, type InboxEntry } from '../src/inbox-entry.js';
import { createIdentity, loadIdentity } from '../src/keystore.js';

export interface AgentOptions {
  readonly fetch?: typeof fetch;
}

let counter = 0;

/** A new identity `<prefix>-<n>` in a folder of its own under `scratch`, registered on `relayUrl`. */
export async function registeredAgent(
  scratch: string,
  relayUrl: string,
  prefix: string,
  options: AgentOptions = {},
): Promise<DeadDropClient> {
  const agentId = `${prefix}-${counter++}`;
  const identity = await createIdentity(agentId, { home: join(scratch, agentId), relayUrl });
  const client = new DeadDropClient({ identity, ...options });
  await client.register();
  return client;
}

/** The same agent in another process: its identity from disk, a client of its own. */
export async function sameAgentElsewhere(
  client: DeadDropClient,
  options: AgentOptions = {},
): Promise<DeadDropClient> {
  const identity = await loadIdentity(client.agentId, { home: client.identity.home });
  return new DeadDropClient({ identity, ...options });
}

/** Polls `condition` every 50 ms; throws naming `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function bodyOrError(entry: InboxEntry): unknown {
  return isUnreadable(entry) ? entry.error : entry.body;
}
