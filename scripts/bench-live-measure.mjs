// The measurements of `npm run bench:live`, for one system at a time: N SSE subscribers held, RSS
// per stream, a one-message-per-mailbox burst, and send→deliver latency at steady rates.
import { readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { createSourceAgents, openStream, postJson } from './bench-live-clients.mjs';
import { cpuMs, fdCount, nofileLimit, onTeardown, rssKB, sleep } from './bench-live-processes.mjs';

export const SEND_CONCURRENCY = 64;
const CONNECT_CONCURRENCY = 100;
const STREAMS_PER_SOURCE_ADDRESS = 10_000;
const SETTLE_MS = 2_000;
const IDLE_MS = 5_000;
/** How long a phase waits, after its last send was answered, for the remaining deliveries. */
const DRAIN_MS = 30_000;

export const round = (value, digits = 1) =>
  value === null || value === undefined ? null : Number(value.toFixed(digits));

function percentile(sorted, p) {
  return sorted.length === 0
    ? null
    : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at once. */
export async function runPool(count, concurrency, task) {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/**
 * CPU used by the server and by this process over a phase, as a share of one core. On a shared
 * machine these say whether a slow phase was the server's own cost or a starved/busy load side.
 */
function startCpuMeter(pid) {
  const wall = performance.now();
  const server = cpuMs(pid);
  const bench = process.cpuUsage();
  return (messages) => {
    const wallMs = performance.now() - wall;
    const now = cpuMs(pid);
    const serverMs = now.total - server.total;
    const { user, system } = process.cpuUsage(bench);
    return {
      serverCpuShare: round(serverMs / wallMs, 2),
      // Kernel time: syscalls (socket writes, fsync) rather than JavaScript.
      serverSystemShare: round((now.system - server.system) / wallMs, 2),
      benchCpuShare: round((user + system) / 1000 / wallMs, 2),
      ...(messages > 0 ? { serverCpuUsPerMessage: round((1000 * serverMs) / messages) } : {}),
    };
  };
}

/** Loopback source addresses 127.0.0.x for one system's streams, disjoint from other systems'. */
function sourceAddresses(systemIndex, n) {
  const count = Math.ceil(n / STREAMS_PER_SOURCE_ADDRESS);
  return Array.from({ length: count }, (_, i) => `127.0.0.${2 + systemIndex * count + i}`);
}

/**
 * Pairs each send (timed from just before its request) with its SSE arrival by mailbox and id;
 * either may come first, since the server can push the event before the send's answer returns.
 */
function createTracker() {
  const sends = new Map();
  const early = new Map();
  const latencies = [];
  let sent = 0;
  let failed = 0;
  let firstError;
  let lastArrival = 0;
  const record = (latency, at) => {
    latencies.push(latency);
    if (at > lastArrival) lastArrival = at;
  };
  return {
    sent(key, t0) {
      sent++;
      const at = early.get(key);
      if (at === undefined) sends.set(key, t0);
      else {
        early.delete(key);
        record(at - t0, at);
      }
    },
    failed(error) {
      failed++;
      firstError ??= error.message;
    },
    arrived(key, at) {
      const t0 = sends.get(key);
      if (t0 === undefined) early.set(key, at);
      else {
        sends.delete(key);
        record(at - t0, at);
      }
    },
    /** Waits until every answered send was delivered, or `timeoutMs`. */
    async settle(timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      while (sends.size > 0 && performance.now() < deadline) await sleep(10);
    },
    lastArrival: () => lastArrival,
    summary() {
      const sorted = Float64Array.from(latencies).sort();
      return {
        sent,
        sendFailures: failed,
        firstSendError: firstError,
        delivered: latencies.length,
        undelivered: sends.size,
        p50Ms: round(percentile(sorted, 0.5), 2),
        p99Ms: round(percentile(sorted, 0.99), 2),
        maxMs: round(sorted.at(-1), 2),
      };
    },
  };
}

/** Sends one message and hands its timing to the tracker. */
async function sendOne({ system, server, sender, tracker }, to, ciphertext) {
  const { path, body } = system.send(to, ciphertext);
  const t0 = performance.now();
  try {
    const answer = await postJson({ ...server, path, body, agent: sender });
    tracker.sent(`${to} ${system.sentId(answer)}`, t0);
  } catch (error) {
    tracker.failed(error);
  }
}

/** Opens one SSE stream per mailbox, CONNECT_CONCURRENCY at a time, spread over source addresses. */
async function openSubscribers(system, server, n, addresses) {
  const agents = createSourceAgents(addresses);
  const streams = [];
  const pool = { tracker: null, open: 0, dropped: 0, failed: 0, errors: [], closing: false };
  pool.close = onTeardown(() => {
    pool.closing = true;
    for (const stream of streams) stream?.close();
    for (const agent of agents) agent.destroy();
  });
  const started = performance.now();
  await runPool(n, CONNECT_CONCURRENCY, async (i) => {
    const { path, headers } = system.stream(i);
    try {
      streams[i] = await openStream({
        ...server,
        path,
        headers: { ...headers, accept: 'text/event-stream' },
        agent: agents[Math.floor(i / STREAMS_PER_SOURCE_ADDRESS)],
        timeoutMs: 30_000,
        onEvent: (id, at) => pool.tracker?.arrived(`${i} ${id}`, at),
        onClose: () => {
          if (pool.closing) return;
          pool.open--;
          pool.dropped++;
        },
      });
      pool.open++;
      if (pool.open % 5_000 === 0) console.log(`  ${pool.open} streams open`);
    } catch (error) {
      pool.failed++;
      if (pool.errors.length < 3) pool.errors.push(error.message);
      // Nothing works (wrong wire format, auth refused): stop rather than time out N times.
      if (pool.open === 0 && pool.failed >= CONNECT_CONCURRENCY) {
        throw new Error(`no stream opened after ${pool.failed} tries: ${pool.errors.join('; ')}`);
      }
    }
  });
  pool.openMs = performance.now() - started;
  return pool;
}

/** One message to every mailbox (SEND_CONCURRENCY in flight): time until all arrived. */
async function measureBurst(context, messages) {
  const tracker = (context.pool.tracker = createTracker());
  const cpu = startCpuMeter(context.server.pid);
  const started = performance.now();
  await runPool(messages.length, SEND_CONCURRENCY, (i) =>
    sendOne({ ...context, tracker }, i, messages[i]),
  );
  const sendMs = performance.now() - started;
  await tracker.settle(DRAIN_MS);
  const summary = tracker.summary();
  const deliveredMs = tracker.lastArrival() - started;
  return {
    ...summary,
    sendMs: round(sendMs),
    deliveredPerSecond: round((1000 * summary.delivered) / deliveredMs),
    allDeliveredMs: summary.undelivered === 0 ? round(deliveredMs) : null,
    cpu: cpu(summary.delivered),
  };
}

/**
 * An open-loop sender at a steady rate to random subscribed mailboxes. Sends do not wait for
 * earlier ones, so a server that falls behind shows as growing latency, not as a slower sender.
 */
async function measureRate(context, rate, messages) {
  const tracker = (context.pool.tracker = createTracker());
  const inflight = new Set();
  const cpu = startCpuMeter(context.server.pid);
  const started = performance.now();
  let next = 0;
  while (next < messages.length) {
    const elapsedMs = performance.now() - started;
    const due = Math.min(messages.length, Math.floor((elapsedMs * rate) / 1000) + 1);
    for (; next < due; next++) {
      const { to, ciphertext } = messages[next];
      const sending = sendOne({ ...context, tracker }, to, ciphertext);
      inflight.add(sending);
      sending.then(() => inflight.delete(sending));
    }
    await sleep(1);
  }
  const sendSeconds = (performance.now() - started) / 1000;
  await Promise.all(inflight);
  await tracker.settle(DRAIN_MS);
  const summary = tracker.summary();
  const achievedRate = round(messages.length / sendSeconds);
  return { rate, achievedRate, ...summary, cpu: cpu(summary.delivered) };
}

/** Signals the relay to write a heap snapshot into its working folder and waits for it. */
async function takeHeapSnapshot(server) {
  const earlier = new Set(readdirSync(server.snapshotDir));
  process.kill(server.pid, 'SIGUSR2');
  let lastSize = -1;
  for (let waited = 0; waited < 180_000; waited += 1_000) {
    await sleep(1_000);
    const file = readdirSync(server.snapshotDir).find(
      (name) => name.endsWith('.heapsnapshot') && !earlier.has(name),
    );
    if (file === undefined) continue;
    const path = join(server.snapshotDir, file);
    const size = statSync(path).size;
    if (size > 0 && size === lastSize) return path;
    lastSize = size;
  }
  return null;
}

/** Streams opened, then RSS and idle CPU with all of them held. */
async function measureStreams(system, server, plan, systemIndex) {
  const rssBefore = rssKB(server.pid);
  const addresses = sourceAddresses(systemIndex, plan.n);
  const connectCpu = startCpuMeter(server.pid);
  const pool = await openSubscribers(system, server, plan.n, addresses);
  const connect = connectCpu(0);
  // Idle streams still cost something (pings, catch-up reads): measured before any message.
  const idleCpu = startCpuMeter(server.pid);
  await sleep(IDLE_MS);
  const rssAfter = rssKB(server.pid);
  const measured = {
    sourceAddresses: addresses,
    connected: pool.open,
    connectFailures: pool.failed,
    connectErrors: pool.errors,
    connectSeconds: round(pool.openMs / 1000),
    connectCpu: connect,
    idleCpu: idleCpu(0),
    serverFds: fdCount(server.pid),
    rssBeforeKB: rssBefore,
    rssAfterKB: rssAfter,
    rssPerStreamKB: round((rssAfter - rssBefore) / Math.max(1, pool.open), 2),
    benchRssKB: rssKB(process.pid),
  };
  console.log(
    `  ${pool.open} open in ${measured.connectSeconds} s (${pool.failed} failed); ` +
      `RSS ${rssBefore} → ${rssAfter} kB = ${measured.rssPerStreamKB} kB/stream`,
  );
  return { pool, measured };
}

/**
 * One system, start to finish: start, subscribe N, memory, burst, rates, stop. Fills `result` as
 * it goes, so an interrupted run still reports what was measured.
 */
export async function measureSystem(system, systemIndex, plan, workload, result) {
  console.log(`\n${system.name}: ${system.label}, ${plan.n} subscribers`);
  Object.assign(result, { system: system.name, label: system.label, n: plan.n });
  const server = await system.start();
  result.fdLimit = nofileLimit(server.pid);
  const sender = new http.Agent({ keepAlive: true, maxSockets: SEND_CONCURRENCY });
  onTeardown(() => sender.destroy());
  await system.prepare(server, sender);
  // Registration's garbage settles before the "before" RSS reading.
  await sleep(SETTLE_MS);

  const { pool, measured } = await measureStreams(system, server, plan, systemIndex);
  Object.assign(result, measured);
  if (server.snapshotDir !== undefined) {
    result.heapSnapshotAfterConnect = await takeHeapSnapshot(server);
    console.log(`  heap snapshot: ${result.heapSnapshotAfterConnect}`);
  }

  const context = { system, server, sender, pool };
  result.burst = await measureBurst(context, workload.burst);
  console.log(`  burst: ${JSON.stringify(result.burst)}`);
  result.rates = [];
  for (const [index, rate] of plan.rates.entries()) {
    const rated = await measureRate(context, rate, workload.rates[index]);
    result.rates.push(rated);
    console.log(`  ${rate}/s: ${JSON.stringify(rated)}`);
  }
  if (server.snapshotDir !== undefined) {
    // A second one after the messages: does anything per message stay behind?
    result.heapSnapshotAtEnd = await takeHeapSnapshot(server);
    console.log(`  heap snapshot: ${result.heapSnapshotAtEnd}`);
  }
  Object.assign(result, {
    held: pool.open,
    dropped: pool.dropped,
    rssEndKB: rssKB(server.pid),
    serverLog: server.output.counts,
  });
  await pool.close();
  await server.stop();
  return result;
}
