// The group-send benchmark (PROTOCOL §8): one `sendMany` to 100 recipients against the same 100
// envelopes as single `send`s — one after another, and 16 in flight — through the SDK's tRPC
// client, on one relay. Measured per mode: the relay process's CPU per message and the wall time
// of one round of 100 messages; the ratios say what one group send saves.
import { cpuMs } from '../load-support/proc-readings.js';
import { percentile, round } from './stats.js';
import { trpcClient, type BenchRelay, type Recipient } from './systems.js';

export type GroupSendMode = 'sendMany' | 'send, sequential' | 'send, 16 in flight';

export interface GroupSendModeResult {
  readonly mode: GroupSendMode;
  readonly rounds: number;
  readonly messages: number;
  /** Median wall time of one round (100 messages), in ms. */
  readonly wallMsPer100: number | null;
  readonly serverCpuUsPerMessage: number | null;
}

export interface GroupSendResult {
  readonly store: string;
  readonly recipients: number;
  readonly modes: readonly GroupSendModeResult[];
  /** sendMany / the mode named: below 1, one group send costs the relay less. */
  readonly ratios: readonly {
    readonly versus: GroupSendMode;
    readonly serverCpuRatio: number | null;
    readonly wallRatio: number | null;
  }[];
}

export interface GroupSendRun {
  readonly relay: BenchRelay;
  /** Exactly the recipients of one group send (at most 100), registered on `relay`. */
  readonly recipients: readonly Recipient[];
  /** Time each mode runs for (bounded further by `maxRounds`). */
  readonly seconds: number;
  readonly maxRounds: number;
}

const IN_FLIGHT = 16;
const WARMUP_ROUNDS = 2;

type Round = () => Promise<void>;

function roundOf(mode: GroupSendMode, relay: BenchRelay, recipients: readonly Recipient[]): Round {
  const client = trpcClient(relay.url);
  const items = recipients.map(({ agentId, ciphertext }) => ({ to: agentId, ciphertext }));
  const sendOne = async (index: number): Promise<void> => {
    const item = items[index];
    if (item === undefined) throw new Error(`no item ${index}`);
    await client.send.mutate(item);
  };
  switch (mode) {
    case 'sendMany':
      return async () => {
        const { results } = await client.sendMany.mutate({ items });
        const refused = results.find((result) => !result.ok);
        if (refused !== undefined) throw new Error(`sendMany refused an item: ${refused.to}`);
      };
    case 'send, sequential':
      return async () => {
        for (let index = 0; index < items.length; index++) await sendOne(index);
      };
    case 'send, 16 in flight':
      return async () => {
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < items.length) await sendOne(next++);
        };
        await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      };
  }
}

async function measureMode(
  mode: GroupSendMode,
  { relay, recipients, seconds, maxRounds }: GroupSendRun,
): Promise<GroupSendModeResult> {
  const oneRound = roundOf(mode, relay, recipients);
  for (let i = 0; i < WARMUP_ROUNDS; i++) await oneRound();
  const walls: number[] = [];
  const serverBefore = cpuMs(relay.pid).total;
  const deadline = performance.now() + seconds * 1000;
  while (walls.length < maxRounds && performance.now() < deadline) {
    const started = performance.now();
    await oneRound();
    walls.push(performance.now() - started);
  }
  const messages = walls.length * recipients.length;
  const serverMs = cpuMs(relay.pid).total - serverBefore;
  return {
    mode,
    rounds: walls.length,
    messages,
    wallMsPer100: round(
      (percentile(Float64Array.from(walls).sort(), 0.5) ?? Number.NaN) * (100 / recipients.length),
      2,
    ),
    serverCpuUsPerMessage: messages > 0 ? round((1000 * serverMs) / messages, 1) : null,
  };
}

export async function measureGroupSend(run: GroupSendRun): Promise<GroupSendResult> {
  if (run.recipients.length === 0 || run.recipients.length > 100)
    throw new Error('a group send has 1–100 recipients');
  const modes: GroupSendModeResult[] = [];
  for (const mode of ['sendMany', 'send, sequential', 'send, 16 in flight'] as const)
    modes.push(await measureMode(mode, run));
  const [many, ...singles] = modes;
  const ratio = (a: number | null | undefined, b: number | null): number | null =>
    a === null || a === undefined || b === null || b === 0 ? null : round(a / b, 3);
  return {
    store: run.relay.store,
    recipients: run.recipients.length,
    modes,
    ratios: singles.map((single) => ({
      versus: single.mode,
      serverCpuRatio: ratio(many?.serverCpuUsPerMessage, single.serverCpuUsPerMessage),
      wallRatio: ratio(many?.wallMsPer100, single.wallMsPer100),
    })),
  };
}
