// What most tests against the hostile relay start with: the relay, a scratch folder for homes,
// and SDK agents registered on it, each in its own home. `close()` ends the relay and the folder.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeadDropClient, createIdentity, type DeadDropClientOptions } from '@deaddrop/client';
import { startHostileRelay, type HostileRelay, type HostileRelayOptions } from './hostile-relay.js';

export type AgentOptions = Partial<Omit<DeadDropClientOptions, 'identity' | 'relayUrl'>>;

export interface HostileRelayAgents {
  readonly relay: HostileRelay;
  /** A folder for this test's files; each agent's home is `<scratch>/<agentId>`. */
  readonly scratch: string;
  /** A new identity `agentId` in its own home, registered on the relay. */
  agent(agentId: string, options?: AgentOptions): Promise<DeadDropClient>;
  close(): Promise<void>;
}

export async function startHostileRelayAgents(
  options: HostileRelayOptions = {},
): Promise<HostileRelayAgents> {
  const [relay, scratch] = await Promise.all([
    startHostileRelay(options),
    mkdtemp(join(tmpdir(), 'deaddrop-hostile-')),
  ]);
  return {
    relay,
    scratch,
    agent: async (agentId, agentOptions = {}) => {
      const identity = await createIdentity(agentId, {
        home: join(scratch, agentId),
        relayUrl: relay.url,
      });
      const client = new DeadDropClient({ identity, ...agentOptions });
      await client.register();
      return client;
    },
    close: async () => {
      await relay.close();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}
