// Reading a mailbox through the SDK (a fresh signed proof per request, as every client does):
// `poll` latency and end to end (sender sealMessage + send, recipient pollAndDecrypt) for 1 KiB and
// 64 KiB bodies. Long-poll wake-up is wake-up.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { DeadDropClient, createIdentity } from '@deaddrop/client';
import { onTeardown } from '../load-support/teardown.js';
import { latencySummary, round, type LatencySummary } from './stats.js';

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
