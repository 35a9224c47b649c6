// The two systems `npm run bench:live` compares — our relay and the bare Express + ioredis
// baseline — each as start / prepare / stream request / send request.
import { mkdtempSync } from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { createProof, encodeAuthorization, signRegistration } from '@deaddrop/contract';
import { startBuiltRelay } from '../../load-support/built-relay.js';
import { ROOT } from '../../load-support/child-processes.js';
import { getJson, postJson, stringAt } from '../../load-support/http-json.js';
import { REDIS_URL, ownRedisKeyPrefix } from '../../load-support/redis.js';
import { runPool } from '../../load-support/run-pool.js';
import type { ServerProcess } from '../../load-support/spawn-server.js';
import { startBaseline } from '../baseline-process.js';
import type { LivePlan } from './plan.js';
import type { LiveAgent, Workload } from './workload.js';

/** Registrations in flight while a system is prepared. */
const REGISTER_CONCURRENCY = 64;

export interface LiveServer extends ServerProcess {
  /** Where the relay writes heap snapshots on SIGUSR2, when asked for them. */
  readonly snapshotDir?: string | undefined;
}

export interface LiveSystem {
  readonly name: string;
  readonly label: string;
  start(): Promise<LiveServer>;
  /** Whatever must exist before the streams open (the relay's directory entries). */
  prepare(server: LiveServer, sender: http.Agent): Promise<void>;
  /** The request that opens mailbox `i`'s stream. */
  stream(i: number): { path: string; headers: Record<string, string> };
  /** The request that sends `ciphertext` to mailbox `i`. */
  send(i: number, ciphertext: string): { path: string; body: unknown };
  /** The stored message's id in a send's answer. */
  sentId(answer: unknown): string;
}

/** The relay's `--heapsnapshot-signal` / `--cpu-prof` flags, writing into a temporary folder. */
function diagnosticsArgs(plan: LivePlan): { args: string[]; dir: string | undefined } {
  if (!plan.heapSnapshot && !plan.cpuProfile) return { args: [], dir: undefined };
  // Outside the repository: snapshots and profiles are never committed.
  const dir = mkdtempSync(join(os.tmpdir(), 'bench-live-profile-'));
  console.log(`  relay diagnostics go to ${dir}`);
  return {
    args: [
      ...(plan.heapSnapshot ? ['--heapsnapshot-signal=SIGUSR2'] : []),
      ...(plan.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []),
    ],
    dir,
  };
}

function agentAt(workload: Workload, i: number): LiveAgent {
  const agent = workload.agents[i];
  if (agent === undefined) throw new Error(`no mailbox ${i}`);
  return agent;
}

/** Our relay: node server/dist/main.js, embedded store by default, Redis with `--redis`. */
export function relaySystem(plan: LivePlan, workload: Workload): LiveSystem {
  let relayId = '';
  return {
    name: 'ours',
    label: `relay (${plan.redis ? 'redis' : 'embedded'} store)`,
    async start() {
      const diagnostics = diagnosticsArgs(plan);
      const server = await startBuiltRelay({
        name: 'bench-live-relay',
        dataParent: plan.dataParent,
        env: plan.redis ? { REDIS_URL, REDIS_KEY_PREFIX: ownRedisKeyPrefix('live') } : {},
        nodeArgs: diagnostics.args,
        cwd: diagnostics.dir ?? ROOT,
      });
      const info = await getJson({ ...server, path: '/trpc/info' });
      relayId = stringAt(info, ['result', 'data', 'json', 'relayId'], 'relay info');
      return { ...server, snapshotDir: plan.heapSnapshot ? diagnostics.dir : undefined };
    },
    /** Registers every mailbox's agent (signed just before sending: the relay checks `ts`). */
    async prepare(server, sender) {
      await runPool(workload.agents.length, REGISTER_CONCURRENCY, async (i) => {
        const { agentId, keys } = agentAt(workload, i);
        const registration = signRegistration({ relayId, agentId, keys });
        const path = '/trpc/directory.register';
        await postJson({ ...server, path, body: { json: registration }, agent: sender });
      });
    },
    /** The request httpSubscriptionLink makes, with a fresh `inbox` proof for this connection. */
    stream(i) {
      const { agentId, keys } = agentAt(workload, i);
      const proof = createProof({ relayId, agentId, keys, scope: 'inbox' });
      return {
        path: `/trpc/inbox?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`,
        headers: { authorization: encodeAuthorization(proof) },
      };
    },
    send: (i, ciphertext) => ({
      path: '/trpc/send',
      body: { json: { to: agentAt(workload, i).agentId, ciphertext } },
    }),
    sentId: (answer) => stringAt(answer, ['result', 'data', 'json', 'id'], 'relay send'),
  };
}

/** The bare Express 5 + ioredis baseline (scripts/bench/baseline-server.ts). */
export function baselineSystem(workload: Workload): LiveSystem {
  return {
    name: 'baseline',
    label: 'express 5 + ioredis XADD, plain SSE',
    start: () => startBaseline('live-baseline'),
    prepare: () => Promise.resolve(),
    stream: (i) => ({ path: `/sub/${agentAt(workload, i).agentId}`, headers: {} }),
    send: (i, ciphertext) => ({
      path: '/send',
      body: { to: agentAt(workload, i).agentId, ciphertext },
    }),
    sentId: (answer) => stringAt(answer, ['id'], 'baseline send'),
  };
}
