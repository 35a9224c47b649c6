// What goes wrong during the soak, and when: redis-server killed every N seconds (SIGKILL and
// SIGTERM in turn, or one of them) and brought back on its port and folder, and the relay SIGKILLed
// once and started again. Events run one after another, never overlapping.
import { setTimeout as sleep } from 'node:timers/promises';
import type { OwnRedis, RedisRestart } from './redis-server.js';
import type { RelayRestart, SoakRelay } from './relay-process.js';

export type RedisSignal = 'SIGKILL' | 'SIGTERM';

export type ChaosEvent =
  | { readonly at: number; readonly kind: 'redis'; readonly signal: RedisSignal }
  | { readonly at: number; readonly kind: 'relay' };

/** An event as it happened: `at` seconds into the run, with its timings. */
export type ChaosDone =
  | ({ readonly kind: 'redis'; readonly signal: RedisSignal; readonly at: number } & RedisRestart)
  | ({ readonly kind: 'relay'; readonly at: number } & RelayRestart);

export interface ChaosPlan {
  readonly seconds: number;
  readonly redisEvery: number;
  readonly redisSignal: 'alternate' | RedisSignal;
  readonly relayRestartAt: number;
}

/** Halfway between two Redis restarts, near the middle of the run, so the two never coincide. */
export function defaultRelayRestartAt(seconds: number, redisEvery: number): number {
  const midway = Math.floor(seconds / 2 / redisEvery) * redisEvery + redisEvery / 2;
  return midway < seconds ? midway : seconds / 2;
}

export function planChaos({
  seconds,
  redisEvery,
  redisSignal,
  relayRestartAt,
}: ChaosPlan): ChaosEvent[] {
  const events: ChaosEvent[] = [];
  if (redisEvery > 0) {
    for (let at = redisEvery, turn = 0; at < seconds; at += redisEvery, turn++) {
      const signal =
        redisSignal === 'alternate' ? (turn % 2 === 0 ? 'SIGKILL' : 'SIGTERM') : redisSignal;
      events.push({ at, kind: 'redis', signal });
    }
  }
  if (relayRestartAt >= 0 && relayRestartAt < seconds)
    events.push({ at: relayRestartAt, kind: 'relay' });
  return events.sort((a, b) => a.at - b.at);
}

export interface ChaosTargets {
  readonly redis: OwnRedis;
  readonly relay: SoakRelay;
  readonly redisDownMs: number;
  readonly relayDownMs: number;
  /** performance.now() at the start of the run. */
  readonly startedAt: number;
  readonly signal: AbortSignal;
}

/**
 * Runs `events` at their times (seconds after `startedAt`) until `signal` aborts; returns what
 * happened, and prints each as it happens.
 */
export async function runChaos(
  events: readonly ChaosEvent[],
  { redis, relay, redisDownMs, relayDownMs, startedAt, signal }: ChaosTargets,
): Promise<ChaosDone[]> {
  const done: ChaosDone[] = [];
  for (const event of events) {
    const wait = startedAt + event.at * 1000 - performance.now();
    if (wait > 0) await sleep(wait);
    if (signal.aborted) break;
    const at = (performance.now() - startedAt) / 1000;
    if (event.kind === 'redis') {
      const timing = await redis.restart(event.signal, redisDownMs);
      done.push({ ...event, at, ...timing });
      console.log(
        `  [${at.toFixed(1).padStart(6)} s] redis-server ${event.signal}: exited in ` +
          `${Math.round(timing.exitMs)} ms, serving again after ${(timing.outageMs / 1000).toFixed(1)} s ` +
          `(append-only file reloaded in ${Math.round(timing.readyMs)} ms)`,
      );
    } else {
      const pid = relay.pid();
      const timing = await relay.killAndRestart(relayDownMs);
      done.push({ ...event, at, ...timing });
      console.log(
        `  [${at.toFixed(1).padStart(6)} s] relay SIGKILL (pid ${pid}): serving again after ` +
          `${(timing.outageMs / 1000).toFixed(1)} s (pid ${relay.pid()}, ready in ${Math.round(timing.readyMs)} ms)`,
      );
    }
  }
  return done;
}
