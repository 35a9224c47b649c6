// Reading a mailbox through the SDK (a fresh signed proof per request, as every client does):
// `poll` latency, long-poll wake-up (a send reaches a waiting poll), and end to end (sender
// sealMessage + send, recipient pollAndDecrypt) for 1 KiB and 64 KiB bodies.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadDropClient, createIdentity } from '@deaddrop/client';
import { sealMessage } from '@deaddrop/contract';
import { onTeardown } from '../load-support/teardown.js';
import { latencySummary, round, type LatencySummary } from './stats.js';
import { trpcClient } from './systems.js';

interface RelayUrl {
  readonly url: string;
}

let agents = 0;

/** A registered agent with its own home folder (removed at teardown). */
export async function openAgent(relay: RelayUrl, name: string): Promise<DeadDropClient> {
  const home = mkdtempSync(join(os.tmpdir(), 'bench-home-'));
  onTeardown(() => {
    rmSync(home, { recursive: true, force: true });
  });
  const agentId = `${name}-${process.pid}-${agents++}`;
  const identity = await createIdentity(agentId, { home, relayUrl: relay.url });
  const client = new DeadDropClient({ identity });
  await client.register();
  return client;
}

export interface PollMeasure extends LatencySummary {
  readonly held: number;
  readonly limit: number;
}

/** Sequential `poll` of a mailbox holding `held` messages, `limit` per call. */
export async function measurePoll({
  relay,
  seconds,
  maxCalls,
  held = 10,
  limit = 10,
}: {
  relay: RelayUrl;
  seconds: number;
  maxCalls: number;
  held?: number;
  limit?: number;
}): Promise<PollMeasure> {
  const [sender, reader] = await Promise.all([
    openAgent(relay, 'poll-sender'),
    openAgent(relay, 'poll-reader'),
  ]);
  for (let i = 0; i < held; i++)
    await sender.sendMessage({ to: reader.agentId, message: 'x'.repeat(1024) });
  for (let i = 0; i < 5; i++) await reader.poll({ limit });
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline && latencies.length < maxCalls) {
    const t0 = performance.now();
    const { messages } = await reader.poll({ limit });
    latencies.push(performance.now() - t0);
    if (messages.length !== Math.min(held, limit)) throw new Error('poll returned a short page');
  }
  return { held, limit, ...latencySummary(latencies) };
}

/**
 * Long-poll wake-up: the reader waits in `poll({ waitMs })`; once its request has reached the
 * relay, a raw send stores a message; measured from just before that send to the poll's answer.
 */
export async function measureWakeUp({
  relay,
  rounds,
  seconds,
  settleMs = 15,
}: {
  relay: RelayUrl;
  rounds: number;
  seconds: number;
  settleMs?: number;
}): Promise<LatencySummary> {
  const reader = await openAgent(relay, 'wake-reader');
  const send = trpcClient(relay.url);
  const ciphertext = await sealFor(relay, reader);
  let cursor = '0-0';
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  for (let i = 0; i < rounds + 3 && performance.now() < deadline; i++) {
    const waiting = reader.poll({ after: cursor, waitMs: 10_000 });
    await sleep(settleMs);
    const t0 = performance.now();
    const sent = send.send.mutate({ to: reader.agentId, ciphertext });
    const { messages, cursor: next } = await waiting;
    const latency = performance.now() - t0;
    await sent;
    if (messages.length === 0) throw new Error('long-poll returned without the message');
    cursor = next;
    if (i >= 3) latencies.push(latency); // the first rounds warm up both sides
  }
  return latencySummary(latencies);
}

/** An envelope for `reader`, sealed by a throwaway sender (the relay never checks the sender). */
async function sealFor(relay: RelayUrl, reader: DeadDropClient): Promise<string> {
  const sender = await openAgent(relay, 'wake-sender');
  return sealMessage({
    from: sender.agentId,
    sender: sender.identity.keys,
    to: reader.agentId,
    recipient: reader.identity.keys,
    body: 'wake up',
  }).ciphertext;
}

export interface EndToEndMeasure {
  readonly bodyBytes: number;
  readonly sent: number;
  readonly received: number;
  readonly unverified: number;
  readonly perSecond: number | null;
}

/**
 * End to end: the sender seals and sends `count` messages (`concurrency` at a time) while the
 * recipient reads them with pollAndDecrypt (decrypt + verify + replay check + saved cursor).
 * Throughput = messages / (last one opened − first send).
 */
export async function measureEndToEnd({
  relay,
  bodyBytes,
  count,
  concurrency,
  seconds,
}: {
  relay: RelayUrl;
  bodyBytes: number;
  count: number;
  concurrency: number;
  seconds: number;
}): Promise<EndToEndMeasure> {
  const [sender, reader] = await Promise.all([
    openAgent(relay, 'e2e-sender'),
    openAgent(relay, 'e2e-reader'),
  ]);
  const body = 'x'.repeat(bodyBytes);
  await sender.sendMessage({ to: reader.agentId, message: body }); // first contact: lookup + pin
  await reader.pollAndDecrypt({ limit: 100 });
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let sent = 0;
  // A property, not a `let`: it changes in a callback, so TypeScript must not narrow it.
  const progress = { sendingDone: false };
  const sending = Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < count && performance.now() < deadline) {
        sent++;
        await sender.sendMessage({ to: reader.agentId, message: body });
      }
    }),
  ).finally(() => {
    progress.sendingDone = true;
  });
  let received = 0;
  let unverified = 0;
  while (!(progress.sendingDone && received >= sent) && performance.now() < deadline + 10_000) {
    const entries = await reader.pollAndDecrypt({ limit: 100, timeoutMs: 1_000 });
    for (const entry of entries) {
      received++;
      if (!('verified' in entry) || !entry.verified) unverified++;
    }
  }
  await sending;
  const elapsed = (performance.now() - started) / 1000;
  return {
    bodyBytes,
    sent,
    received,
    unverified,
    perSecond: round(received / elapsed, 0),
  };
}
