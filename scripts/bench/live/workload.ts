// What `npm run bench:live` sends, sealed before any timing and shared by both systems: one agent
// per mailbox, one message to each for the burst, and each rate's messages to random mailboxes.
import { deriveAgentKeys, generateSeed, sealMessage, type AgentKeys } from '@deaddrop/contract';

const BODY = 'x'.repeat(256);

export interface LiveAgent {
  readonly agentId: string;
  readonly keys: AgentKeys;
}

export interface RatedMessage {
  /** The mailbox index. */
  readonly to: number;
  readonly ciphertext: string;
}

export interface Workload {
  readonly agents: readonly LiveAgent[];
  /** One envelope per mailbox, in mailbox order. */
  readonly burst: readonly string[];
  /** Per rate of the plan, `rate × rateSeconds` messages. */
  readonly rates: readonly (readonly RatedMessage[])[];
  /** Per rate of the saturation search, `rate × saturationSeconds` burst envelopes resent. */
  readonly saturation: readonly (readonly RatedMessage[])[];
  readonly bodyBytes: number;
  readonly ciphertextChars: number;
}

export function prepareWorkload(plan: {
  readonly n: number;
  readonly rates: readonly number[];
  readonly rateSeconds: number;
  readonly saturationRates: readonly number[];
  readonly saturationSeconds: number;
}): Workload {
  const tag = Date.now().toString(36);
  const sender = deriveAgentKeys(generateSeed());
  const agents = Array.from({ length: plan.n }, (_, i) => ({
    agentId: `bench-${tag}-${i}`,
    keys: deriveAgentKeys(generateSeed()),
  }));
  const seal = (to: number): string => {
    const agent = agents[to];
    if (agent === undefined) throw new Error(`no mailbox ${to}`);
    return sealMessage({
      from: 'bench-sender',
      sender,
      to: agent.agentId,
      recipient: agent.keys,
      body: BODY,
    }).ciphertext;
  };
  const burst = agents.map((_, i) => seal(i));
  const randomMailbox = (): number => Math.floor(Math.random() * plan.n);
  const rates = plan.rates.map((rate) =>
    Array.from({ length: rate * plan.rateSeconds }, () => {
      const to = randomMailbox();
      return { to, ciphertext: seal(to) };
    }),
  );
  // Tens of thousands more envelopes would take longer to seal than the search takes to run: the
  // search resends each mailbox's burst envelope (a send without an idempotency key is stored
  // anew, under its own id).
  const saturation = plan.saturationRates.map((rate) =>
    Array.from({ length: rate * plan.saturationSeconds }, () => {
      const to = randomMailbox();
      return { to, ciphertext: burst[to] ?? '' };
    }),
  );
  return {
    agents,
    burst,
    rates,
    saturation,
    bodyBytes: BODY.length,
    ciphertextChars: burst[0]?.length ?? 0,
  };
}
