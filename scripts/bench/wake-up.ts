// Long-poll wake-up (issue 17): a reader waits in a long-poll; once its request has reached the
// server, a sender's request stores a message; measured from just before that send to the reader
// holding the decoded answer. Against the floor — a bare node:http server in a child process
// (wake-floor-server.ts) where a held GET is answered by a POST, bare node:http clients with
// keep-alive agents on the other side — measured in the same run, round by round: each round
// measures every system once, in an order that rotates, and each measurement starts with the same
// idle gap after the reader's request went out, so drift and the idle-process effect (a process
// that sat idle wakes slower) hit all alike. Relay clients: the SDK (`poll({ waitMs })` answered
// after an SDK send) and the plain HTTP API (`GET /v1/poll?waitMs=` with a proof header, answered
// after a plain `POST /v1/send`), on Redis and on the embedded store.
import http from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DeadDropClient } from '@deaddrop/client';
import { createProof, encodeAuthorization, sealMessage } from '@deaddrop/contract';
import { ROOT } from '../load-support/child-processes.js';
import { cleanEnv } from '../load-support/relay-env.js';
import { spawnServer, type ServerProcess } from '../load-support/spawn-server.js';
import { onTeardown } from '../load-support/teardown.js';
import type { GoalCheck } from './goals.js';
import { ratioOf } from './goals.js';
import { openAgent } from './mailbox.js';
import { latencySummary, round, type LatencySummary } from './stats.js';
import { trpcClient, type BenchRelay, type RelayStore } from './systems.js';

const FLOOR_ENTRY = join(ROOT, 'scripts', 'bench', 'wake-floor-server.ts');

/** Rounds measured but not counted: connections, JIT and the relays' caches warm up. */
const WARMUP_ROUNDS = 5;
/** How long a waiting request sits at the server before the send (the same for every system). */
const IDLE_GAP_MS = 15;
/** A relay's long-poll wait: far longer than any round, so a timeout shows up as a failure. */
const POLL_WAIT_MS = 10_000;

export type WakeUpClient = 'floor' | 'sdk' | 'plain';

export interface WakeUpCell extends LatencySummary {
  readonly client: WakeUpClient;
  /** Absent for the floor. */
  readonly store?: RelayStore;
  /** p50 / the floor's p50, and p99 / the floor's p99, from the same rounds. */
  readonly p50Ratio: number | null;
  readonly p99Ratio: number | null;
}

export interface WakeUpResults {
  readonly rounds: number;
  readonly idleGapMs: number;
  readonly cells: readonly WakeUpCell[];
}

/** One way of waiting and waking: `arm` starts the waiting request, `wake` sends the message. */
interface WakeSystem {
  readonly client: WakeUpClient;
  readonly store?: RelayStore;
  /** Resolves once the answer is decoded; rejects when it holds no message. */
  arm(): Promise<void>;
  wake(): Promise<unknown>;
}

/** A bare node:http request with a keep-alive agent; resolves with the status and the body. */
function bareRequest(
  agent: http.Agent,
  url: URL,
  options: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const { body } = options;
    const request = http.request(
      url,
      {
        method: options.method,
        agent,
        headers: {
          ...options.headers,
          ...(body === undefined
            ? {}
            : {
                'content-type': 'application/json',
                'content-length': String(Buffer.byteLength(body)),
              }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

function keepAliveAgent(): http.Agent {
  const agent = new http.Agent({ keepAlive: true });
  onTeardown(() => {
    agent.destroy();
  });
  return agent;
}

function startFloor(): Promise<ServerProcess> {
  return spawnServer({
    name: 'wake-up floor',
    args: ['--import', 'tsx', FLOOR_ENTRY],
    env: cleanEnv(),
    readyPath: '/healthz',
  });
}

function floorSystem(floor: ServerProcess, body: string): WakeSystem {
  const waitAgent = keepAliveAgent();
  const wakeAgent = keepAliveAgent();
  const waitUrl = new URL('/wait/reader', floor.url);
  const wakeUrl = new URL('/wake/reader', floor.url);
  return {
    client: 'floor',
    async arm() {
      const { status, text } = await bareRequest(waitAgent, waitUrl, { method: 'GET' });
      const answer = JSON.parse(text) as { ciphertext?: unknown };
      if (status !== 200 || typeof answer.ciphertext !== 'string')
        throw new Error(`the floor answered ${status}`);
    },
    wake: () => bareRequest(wakeAgent, wakeUrl, { method: 'POST', body }),
  };
}

/** An envelope for `reader`, sealed by a throwaway sender (the relay never checks the sender). */
async function sealFor(relay: BenchRelay, reader: DeadDropClient): Promise<string> {
  const sender = await openAgent(relay, 'wake-sender');
  return sealMessage({
    from: sender.agentId,
    sender: sender.identity.keys,
    to: reader.agentId,
    recipient: reader.identity.keys,
    body: 'wake up',
  }).ciphertext;
}

async function sdkSystem(relay: BenchRelay): Promise<WakeSystem> {
  const reader = await openAgent(relay, 'wake-reader');
  const send = trpcClient(relay.url);
  const ciphertext = await sealFor(relay, reader);
  let cursor = '0-0';
  return {
    client: 'sdk',
    store: relay.store,
    async arm() {
      const { messages, cursor: next } = await reader.poll({ after: cursor, waitMs: POLL_WAIT_MS });
      if (messages.length === 0) throw new Error('long-poll returned without the message');
      cursor = next;
    },
    wake: () => send.send.mutate({ to: reader.agentId, ciphertext }),
  };
}

async function plainSystem(relay: BenchRelay): Promise<WakeSystem> {
  const reader = await openAgent(relay, 'wake-plain-reader');
  const ciphertext = await sealFor(relay, reader);
  const { relayId } = await trpcClient(relay.url).info.query();
  const waitAgent = keepAliveAgent();
  const wakeAgent = keepAliveAgent();
  const sendUrl = new URL('/v1/send', relay.url);
  const body = JSON.stringify({ to: reader.agentId, ciphertext });
  let cursor = '0-0';
  return {
    client: 'plain',
    store: relay.store,
    async arm() {
      const pollUrl = new URL(
        `/v1/poll?after=${cursor}&limit=10&waitMs=${POLL_WAIT_MS}`,
        relay.url,
      );
      const authorization = encodeAuthorization(
        createProof({
          relayId,
          agentId: reader.agentId,
          keys: reader.identity.keys,
          scope: 'poll',
        }),
      );
      const { status, text } = await bareRequest(waitAgent, pollUrl, {
        method: 'GET',
        headers: { authorization },
      });
      const answer = JSON.parse(text) as { messages?: unknown[]; cursor?: unknown };
      if (status !== 200 || typeof answer.cursor !== 'string' || !answer.messages?.length)
        throw new Error(`plain long-poll answered ${status} without the message: ${text}`);
      cursor = answer.cursor;
    },
    async wake() {
      const { status, text } = await bareRequest(wakeAgent, sendUrl, { method: 'POST', body });
      if (status !== 200) throw new Error(`plain send answered ${status}: ${text}`);
    },
  };
}

/** One wake-up: the reader's request goes out, sits IDLE_GAP_MS, then the send; ms to the answer. */
async function wakeOnce(system: WakeSystem): Promise<number> {
  let answeredAt = 0;
  const answered = system.arm().then(() => {
    answeredAt = performance.now();
  });
  await sleep(IDLE_GAP_MS);
  const t0 = performance.now();
  const woke = system.wake();
  await Promise.all([answered, woke]);
  return answeredAt - t0;
}

export async function measureWakeUp({
  relays,
  rounds,
  seconds,
}: {
  relays: readonly BenchRelay[];
  rounds: number;
  seconds: number;
}): Promise<WakeUpResults> {
  const floor = await startFloor();
  const floorBody = JSON.stringify({ to: 'reader', ciphertext: 'x'.repeat(400) });
  const systems: WakeSystem[] = [floorSystem(floor, floorBody)];
  for (const relay of relays) systems.push(await sdkSystem(relay), await plainSystem(relay));
  const latencies = systems.map((): number[] => []);
  const deadline = performance.now() + seconds * 1000;
  let counted = 0;
  for (let i = 0; i < rounds + WARMUP_ROUNDS && performance.now() < deadline; i++) {
    for (let k = 0; k < systems.length; k++) {
      const index = (i + k) % systems.length;
      const system = systems[index];
      if (system === undefined) continue;
      const latency = await wakeOnce(system);
      if (i >= WARMUP_ROUNDS) latencies[index]?.push(latency);
    }
    if (i >= WARMUP_ROUNDS) counted++;
  }
  await floor.stop();
  const summaries = latencies.map((list) => latencySummary(list));
  const floorSummary = summaries[0];
  return {
    rounds: counted,
    idleGapMs: IDLE_GAP_MS,
    cells: systems.map((system, index) => {
      const summary = summaries[index] ?? latencySummary([]);
      return {
        client: system.client,
        ...(system.store === undefined ? {} : { store: system.store }),
        ...summary,
        p50Ratio: round(ratioOf(summary.p50Ms, floorSummary?.p50Ms), 2),
        p99Ratio: round(ratioOf(summary.p99Ms, floorSummary?.p99Ms), 2),
      };
    }),
  };
}

/** Issue 17: wake-up p50 ≤ 1.5× the floor's, per store × {SDK, plain HTTP}. */
export function wakeUpGoalChecks(results: WakeUpResults): GoalCheck[] {
  return results.cells
    .filter((cell) => cell.client !== 'floor')
    .map((cell) => ({
      goal: `long-poll wake-up, ${cell.store ?? '?'}, ${cell.client === 'sdk' ? 'SDK' : 'plain HTTP'}: p50 <= 1.5x the floor's`,
      value: `${cell.p50Ratio ?? '?'}x (${cell.p50Ms ?? '?'} ms)`,
      pass: (cell.p50Ratio ?? Infinity) <= 1.5,
    }));
}
