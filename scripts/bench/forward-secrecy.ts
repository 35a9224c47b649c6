// The forward-secrecy benchmark (PROTOCOL §10, issue 15): what sealing to a one-time prekey costs a
// send, through the SDK's `sendMessage` (1 KiB), one at a time and 16 in flight, on one relay.
// Three arms, each its own sender, alternating in short phases so drift hits all alike:
//   v2 (prekey)       to a recipient kept stocked with prekeys: every send claims one and is v2;
//   v1 (none left)    to a recipient whose prekeys were drained: every send still claims (the relay
//                     answers "none left"), then falls back to v1 — the same SDK path;
//   v1, explicit key  to that recipient with its key given and accepted (`acceptKey`): the SDK
//                     then neither looks the key up nor claims, so this is the floor of an SDK send.
// With a pinned recipient a send of the first two arms makes three requests: the directory lookup
// (a GET) and the claim (a POST) side by side, then `send`; the third arm makes only `send`.
// Each send's `forwardSecret` is checked against its arm, and the relay's books are checked after:
// its prekey count fell by exactly the forward-secret sends, and its claim counters (/metrics) saw
// one claim per send of the first two arms and none for the third. Any mismatch fails the run.
import {
  PREKEYS_HELD_MAX,
  PUBLISH_PREKEYS_MAX,
  deriveAgentKeys,
  generatePrekey,
  generateSeed,
  type Prekey,
} from '@deaddrop/contract';
import type { DeadDropClient } from '@deaddrop/client';
import { cpuMs } from '../load-support/proc-readings.js';
import { benchOurEnvelopes, type OurEnvelopeRates } from './crypto/envelope-bench.js';
import { ratioOf, type GoalCheck } from './goals.js';
import { openAgent } from './mailbox.js';
import { latencySummary, round, type LatencySummary } from './stats.js';
import { startRelay, type RelayStore } from './systems.js';

export type ForwardSecrecyArm = 'v2 (prekey)' | 'v1 (none left)' | 'v1, explicit key';

export interface ForwardSecrecyCell extends LatencySummary {
  readonly arm: ForwardSecrecyArm;
  readonly inFlight: number;
  readonly messages: number;
  readonly perSecond: number | null;
  readonly serverCpuUsPerMessage: number | null;
  /** The bench process: the sender's work, and during v2 phases the stocker's few requests. */
  readonly clientCpuUsPerMessage: number | null;
}

export interface ForwardSecrecyRatio {
  readonly inFlight: number;
  /** `of` / `over`: throughput below 1 and latency above 1 mean `of` costs more. */
  readonly of: ForwardSecrecyArm;
  readonly over: ForwardSecrecyArm;
  readonly throughputRatio: number | null;
  readonly p50Ratio: number | null;
  readonly p99Ratio: number | null;
  readonly serverCpuRatio: number | null;
}

/** The stocked recipient's prekeys on the relay: `before + published − after = claimed`. */
export interface PrekeyBooks {
  readonly before: number;
  readonly published: number;
  readonly after: number;
  readonly claimed: number;
  /** The fewest the relay held when the stocker looked (it looks every 50 claims). */
  readonly lowestHeld: number;
  /** Sends of the v2 arm (warm-up included), each with `forwardSecret: true`. */
  readonly forwardSecretSends: number;
  /** The drained recipient's count, before and after: 0 both times. */
  readonly drainedBefore: number;
  readonly drainedAfter: number;
}

/** The relay's `deaddrop_prekey_claims_total` against what the sends should have made. */
export interface ClaimCounters {
  readonly served: number;
  readonly empty: number;
  readonly expectedServed: number;
  readonly expectedEmpty: number;
}

export interface ForwardSecrecyResult {
  readonly store: RelayStore;
  readonly cells: readonly ForwardSecrecyCell[];
  readonly ratios: readonly ForwardSecrecyRatio[];
  readonly prekeys: PrekeyBooks;
  readonly claims: ClaimCounters;
}

export interface ForwardSecrecyResults {
  readonly stores: readonly ForwardSecrecyResult[];
  /** Seal+open of our envelope, v2 vs v1, 1 KiB (`--only forward-secrecy`; else the crypto part). */
  readonly sealOpen?: OurEnvelopeRates;
}

export interface ForwardSecrecyRun {
  /** Time per (arm, in-flight) cell, split into alternating phases. */
  readonly seconds: number;
  /** Seconds per seal+open loop; none: not measured here (a full run's crypto part has it). */
  readonly sealOpenSeconds?: number;
}

const ARMS: readonly ForwardSecrecyArm[] = ['v2 (prekey)', 'v1 (none left)', 'v1, explicit key'];
const IN_FLIGHT = [1, 16] as const;
const PHASES = 4;
const WARMUP_SENDS = 3;
/** Sends per cell at most, per second of it: far above what one bench process reaches. */
const MAX_SENDS_PER_SECOND = 2_000;
/** And at most this many per cell, so no mailbox nears the relay's quota (STREAM_MAX_LEN). */
const MAX_SENDS_PER_CELL = 20_000;
/** The stocker tops up after this many claims: the SDK's own top-up batch (prekey-supply.ts). */
const REFILL_AFTER = 50;
const BODY = 'x'.repeat(1024);

/**
 * Keeps one recipient's prekeys on the relay near PREKEYS_HELD_MAX while the v2 arm claims them,
 * from a pool generated before any timing (generating costs ~150 µs each, which would otherwise
 * stall the sender's event loop). Publishing is timed with the v2 arm: the relay checks each
 * prekey's signature, a cost it pays once per forward-secret message in steady use too.
 */
class PrekeyStocker {
  readonly #recipient: DeadDropClient;
  readonly #pool: readonly Prekey[];
  #next = 0;
  #claimedSinceRound = 0;
  #wake: (() => void) | undefined;
  #stopped = false;
  /** Prekeys `run()` published (not `fill()`'s: those are on the relay before the count starts). */
  published = 0;
  /** The fewest the relay held at any top-up: how close the v2 arm came to running out. */
  lowestHeld: number = PREKEYS_HELD_MAX;

  constructor(recipient: DeadDropClient, pool: readonly Prekey[]) {
    this.#recipient = recipient;
    this.#pool = pool;
  }

  async held(): Promise<number> {
    const { prekeys } = await this.#recipient.stats();
    if (prekeys === undefined) throw new Error('forward secrecy: the relay reports no prekeys');
    return prekeys;
  }

  /** Publishes what fits; answers how many the relay held before and after, and stored. */
  async #round(): Promise<{ seen: number; held: number; stored: number }> {
    this.#claimedSinceRound = 0;
    const held = await this.held();
    // Only claims happen meanwhile, so what fits now still fits when the publish arrives.
    const count = Math.min(
      PUBLISH_PREKEYS_MAX,
      PREKEYS_HELD_MAX - held,
      this.#pool.length - this.#next,
    );
    if (count <= 0) return { seen: held, held, stored: 0 };
    const prekeys = this.#pool.slice(this.#next, this.#next + count);
    this.#next += count;
    const { stored, total } = await this.#recipient.relay.directory.publishPrekeys.mutate({
      prekeys,
    });
    return { seen: held, held: total, stored };
  }

  /** Fills the relay up to PREKEYS_HELD_MAX (a bounded number of rounds). */
  async fill(): Promise<void> {
    for (let i = 0; i <= PREKEYS_HELD_MAX / PUBLISH_PREKEYS_MAX; i++) {
      if ((await this.#round()).held >= PREKEYS_HELD_MAX) return;
    }
    throw new Error('forward secrecy: could not stock the recipient up to PREKEYS_HELD_MAX');
  }

  /** A forward-secret send went out: wakes the stocker every REFILL_AFTER of them. */
  claimed(): void {
    this.#claimedSinceRound++;
    if (this.#claimedSinceRound >= REFILL_AFTER) this.#wakeUp();
  }

  /** Tops up after every REFILL_AFTER claims until `stop()`; bounded by the pool. */
  async run(): Promise<void> {
    while (!this.#stopped) {
      if (this.#claimedSinceRound < REFILL_AFTER) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        continue;
      }
      const { seen, stored } = await this.#round();
      this.lowestHeld = Math.min(this.lowestHeld, seen);
      this.published += stored;
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

interface ArmState {
  readonly arm: ForwardSecrecyArm;
  readonly send: () => Promise<void>;
  sent: number;
}

/** One `sendMessage`, refused loudly when it did not go out as its arm says it must. */
function armSender(
  arm: ForwardSecrecyArm,
  sender: DeadDropClient,
  to: DeadDropClient,
  stocker: PrekeyStocker,
): ArmState {
  const state: ArmState = {
    arm,
    sent: 0,
    send: async () => {
      const sent =
        arm === 'v1, explicit key'
          ? await sender.sendMessage({
              to: to.agentId,
              message: BODY,
              recipientKey: to.agentKey,
              acceptKey: true,
            })
          : await sender.sendMessage({ to: to.agentId, message: BODY });
      const expected = arm === 'v2 (prekey)';
      if (sent.forwardSecret !== expected) {
        throw new Error(
          `forward secrecy: a "${arm}" send went out with forwardSecret ${String(sent.forwardSecret)}`,
        );
      }
      state.sent++;
      if (expected) stocker.claimed();
    },
  };
  return state;
}

interface Totals {
  readonly latencies: number[];
  messages: number;
  seconds: number;
  serverMs: number;
  clientUs: number;
}

/** Claims every prekey `recipient` has (a bounded loop); returns how many were served. */
async function drain(claimer: DeadDropClient, recipient: DeadDropClient): Promise<number> {
  for (let served = 0; served <= PREKEYS_HELD_MAX; served++) {
    const { prekey } = await claimer.relay.directory.claimPrekey.mutate({
      agentId: recipient.agentId,
    });
    if (prekey === null) return served;
  }
  throw new Error(`forward secrecy: ${recipient.agentId} still had prekeys after the drain`);
}

/** The relay's prekey claim counters, from /metrics (open: the bench sets no metrics token). */
async function claimCounters(url: string): Promise<{ served: number; empty: number }> {
  const response = await fetch(`${url}/metrics`);
  if (!response.ok) throw new Error(`forward secrecy: /metrics answered ${response.status}`);
  const text = await response.text();
  const counter = (outcome: string): number => {
    const match = new RegExp(
      `^deaddrop_prekey_claims_total\\{outcome="${outcome}"\\} (\\d+)$`,
      'm',
    ).exec(text);
    if (match?.[1] === undefined) throw new Error(`forward secrecy: no ${outcome} claim counter`);
    return Number(match[1]);
  };
  return { served: counter('served'), empty: counter('empty') };
}

async function measureStore(store: RelayStore, seconds: number): Promise<ForwardSecrecyResult> {
  // Claims are limited per (address, mailbox); one load generator must never reach the limit
  // (the bench convention: the check still runs, at a bound nothing reaches).
  const relay = await startRelay(store, { RATE_PREKEY_CLAIMS_PER_MINUTE: '1000000000' });
  const agents: DeadDropClient[] = [];
  try {
    const open = async (name: string): Promise<DeadDropClient> => {
      const agent = await openAgent(relay, name);
      agents.push(agent);
      return agent;
    };
    // Registration publishes 50 prekeys for each recipient (the SDK's register()).
    const stocked = await open('fs-stocked');
    const drained = await open('fs-drained');
    const drainServed = await drain(stocked, drained);
    const drainedBefore = (await drained.stats()).prekeys ?? Number.NaN;
    if (drainedBefore !== 0) throw new Error(`forward secrecy: ${drainedBefore} prekeys left`);

    const cap = Math.min(MAX_SENDS_PER_CELL, Math.ceil(MAX_SENDS_PER_SECOND * seconds));
    const phaseCap = Math.ceil(cap / PHASES);
    // Enough for every claim the v2 arm can make, plus one full relay's worth.
    const poolSize = PREKEYS_HELD_MAX + WARMUP_SENDS + IN_FLIGHT.length * PHASES * phaseCap;
    const pool = Array.from(
      { length: poolSize },
      () => generatePrekey(stocked.agentId, stocked.identity.keys).prekey,
    );
    const stocker = new PrekeyStocker(stocked, pool);
    await stocker.fill();
    const before = await stocker.held();

    const v2 = armSender('v2 (prekey)', await open('fs-sender-v2'), stocked, stocker);
    const noneLeft = armSender('v1 (none left)', await open('fs-sender-v1'), drained, stocker);
    const explicit = armSender(
      'v1, explicit key',
      await open('fs-sender-explicit'),
      drained,
      stocker,
    );
    const arms = [v2, noneLeft, explicit];
    // First contact (a directory lookup, or the explicit pin) and warm code, outside the timing.
    for (const arm of arms) for (let i = 0; i < WARMUP_SENDS; i++) await arm.send();

    // Caught at once (a rejection left waiting would end the process), thrown after the phases.
    let stockerFailure: unknown;
    const stocking = stocker.run().catch((error: unknown) => {
      stockerFailure = error;
    });
    const cells: ForwardSecrecyCell[] = [];
    try {
      for (const inFlight of IN_FLIGHT) {
        const totals = new Map<ForwardSecrecyArm, Totals>(
          ARMS.map((arm) => [
            arm,
            { latencies: [], messages: 0, seconds: 0, serverMs: 0, clientUs: 0 },
          ]),
        );
        for (let phase = 0; phase < PHASES; phase++) {
          for (const arm of arms) {
            const total = totals.get(arm.arm);
            if (total === undefined) throw new Error(`no totals for ${arm.arm}`);
            let started = 0;
            const serverBefore = cpuMs(relay.pid).total;
            const clientBefore = process.cpuUsage();
            const t0 = performance.now();
            const deadline = t0 + (seconds * 1000) / PHASES;
            const worker = async (): Promise<void> => {
              while (performance.now() < deadline && started < phaseCap) {
                started++;
                const sendStarted = performance.now();
                await arm.send();
                total.latencies.push(performance.now() - sendStarted);
                total.messages++;
              }
            };
            await Promise.all(Array.from({ length: inFlight }, worker));
            total.seconds += (performance.now() - t0) / 1000;
            total.serverMs += cpuMs(relay.pid).total - serverBefore;
            const client = process.cpuUsage(clientBefore);
            total.clientUs += client.user + client.system;
          }
        }
        for (const [arm, total] of totals) {
          cells.push({
            arm,
            inFlight,
            messages: total.messages,
            perSecond: round(total.messages / total.seconds, 0),
            serverCpuUsPerMessage:
              total.messages > 0 ? round((1000 * total.serverMs) / total.messages, 0) : null,
            clientCpuUsPerMessage:
              total.messages > 0 ? round(total.clientUs / total.messages, 0) : null,
            ...latencySummary(total.latencies),
          });
        }
      }
    } finally {
      stocker.stop();
      await stocking;
    }
    if (stockerFailure !== undefined)
      throw new Error('forward secrecy: topping up the recipient failed', {
        cause: stockerFailure,
      });

    const after = await stocker.held();
    const forwardSecretSends = v2.sent;
    const prekeys: PrekeyBooks = {
      before,
      published: stocker.published,
      after,
      claimed: before + stocker.published - after,
      lowestHeld: stocker.lowestHeld,
      forwardSecretSends,
      drainedBefore,
      drainedAfter: (await drained.stats()).prekeys ?? Number.NaN,
    };
    const claims: ClaimCounters = {
      ...(await claimCounters(relay.url)),
      expectedServed: drainServed + forwardSecretSends,
      // The drain's last claim found none; so did every send of the v1 (none left) arm.
      expectedEmpty: 1 + noneLeft.sent,
    };
    if (
      prekeys.claimed !== forwardSecretSends ||
      prekeys.drainedAfter !== 0 ||
      claims.served !== claims.expectedServed ||
      claims.empty !== claims.expectedEmpty
    ) {
      throw new Error(
        `forward secrecy (${store}): the relay's prekey count fell by ${prekeys.claimed} (${before} + ${prekeys.published} published − ${after} left) for ${forwardSecretSends} forward-secret sends; the drained recipient holds ${prekeys.drainedAfter}; the relay counted ${claims.served} claims served and ${claims.empty} empty, expected ${claims.expectedServed} and ${claims.expectedEmpty}`,
      );
    }
    return { store, cells, ratios: ratiosOf(cells), prekeys, claims };
  } finally {
    for (const agent of agents) agent.close();
    await relay.stop();
  }
}

function ratiosOf(cells: readonly ForwardSecrecyCell[]): ForwardSecrecyRatio[] {
  const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
    a === null || a === undefined || b === null || b === undefined || b === 0
      ? null
      : round(a / b, 2);
  const pairs: readonly (readonly [ForwardSecrecyArm, ForwardSecrecyArm])[] = [
    ['v2 (prekey)', 'v1 (none left)'],
    ['v2 (prekey)', 'v1, explicit key'],
    ['v1 (none left)', 'v1, explicit key'],
  ];
  return IN_FLIGHT.flatMap((inFlight) =>
    pairs.map(([of, over]) => {
      const a = cells.find((c) => c.inFlight === inFlight && c.arm === of);
      const b = cells.find((c) => c.inFlight === inFlight && c.arm === over);
      return {
        inFlight,
        of,
        over,
        throughputRatio: ratio(a?.perSecond, b?.perSecond),
        p50Ratio: ratio(a?.p50Ms, b?.p50Ms),
        p99Ratio: ratio(a?.p99Ms, b?.p99Ms),
        serverCpuRatio: ratio(a?.serverCpuUsPerMessage, b?.serverCpuUsPerMessage),
      };
    }),
  );
}

/** Both stores, one after the other, each on a relay of its own (stopped when done). */
export async function measureForwardSecrecy({
  seconds,
  sealOpenSeconds,
}: ForwardSecrecyRun): Promise<ForwardSecrecyResults> {
  const stores: ForwardSecrecyResult[] = [];
  for (const store of ['embedded', 'redis'] as const)
    stores.push(await measureStore(store, seconds));
  if (sealOpenSeconds === undefined) return { stores };
  const keys = { alice: deriveAgentKeys(generateSeed()), bob: deriveAgentKeys(generateSeed()) };
  return { stores, sealOpen: benchOurEnvelopes(1024, sealOpenSeconds, keys) };
}

/** v1 sending throughput over forward-secret sending throughput at most this (issue 17, goal 5). */
const FORWARD_SECRECY_GOAL = 1.2;

/**
 * Issue 17's forward-secrecy goal, per store and number in flight: v2 (prekey) msgs/s at least
 * v1 msgs/s ÷ 1.2, v1 being the fallback arm (none left) — the same SDK path, sealing v1.
 */
export function forwardSecrecyGoalChecks(results: ForwardSecrecyResults): GoalCheck[] {
  return results.stores.flatMap(({ store, cells }) =>
    IN_FLIGHT.map((inFlight) => {
      const rate = (arm: ForwardSecrecyArm): number | null | undefined =>
        cells.find((cell) => cell.inFlight === inFlight && cell.arm === arm)?.perSecond;
      const v2 = rate('v2 (prekey)');
      const v1 = rate('v1 (none left)');
      const ratio = ratioOf(v2, v1);
      return {
        goal: `forward secrecy, ${store}, ${inFlight} in flight: v2 msgs/s >= v1 (none left) msgs/s / ${FORWARD_SECRECY_GOAL}`,
        value: `${v2 ?? '?'} vs ${v1 ?? '?'} msgs/s, ${Number.isNaN(ratio) ? '?' : round(ratio, 2)}x (at least ${round(1 / FORWARD_SECRECY_GOAL, 2)}x)`,
        pass: ratio >= 1 / FORWARD_SECRECY_GOAL,
      };
    }),
  );
}
