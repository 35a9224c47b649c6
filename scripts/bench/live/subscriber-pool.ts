// N subscribers of one system in `npm run bench:live`: one SSE stream per mailbox, opened a bounded
// number at a time and spread over loopback source addresses, kept until the system is done.
import { errorMessage } from '../../load-support/error-message.js';
import { runPool } from '../../load-support/run-pool.js';
import { onTeardown } from '../../load-support/teardown.js';
import type { DeliveryTracker } from './delivery-tracker.js';
import { createSourceAgents, openStream, type OpenStream } from './sse-streams.js';
import type { LiveServer, LiveSystem } from './systems.js';

const CONNECT_CONCURRENCY = 100;
const STREAMS_PER_SOURCE_ADDRESS = 10_000;
const CONNECT_TIMEOUT_MS = 30_000;

export interface SubscriberPool {
  /** The phase under way, if any: where each arrival is reported. */
  tracker: DeliveryTracker | null;
  open: number;
  dropped: number;
  failed: number;
  readonly errors: string[];
  openMs: number;
  /** Closes every stream (also run at teardown). */
  readonly close: () => Promise<void>;
}

/** Loopback source addresses 127.0.0.x for one system's streams, disjoint from other systems'. */
export function sourceAddresses(systemIndex: number, n: number): string[] {
  const count = Math.ceil(n / STREAMS_PER_SOURCE_ADDRESS);
  return Array.from({ length: count }, (_, i) => `127.0.0.${2 + systemIndex * count + i}`);
}

/** Opens one SSE stream per mailbox, CONNECT_CONCURRENCY at a time, spread over `addresses`. */
export async function openSubscribers(
  system: LiveSystem,
  server: LiveServer,
  n: number,
  addresses: readonly string[],
): Promise<SubscriberPool> {
  const agents = createSourceAgents(addresses);
  const streams: (OpenStream | undefined)[] = [];
  let closing = false;
  const pool: SubscriberPool = {
    tracker: null,
    open: 0,
    dropped: 0,
    failed: 0,
    errors: [],
    openMs: 0,
    close: onTeardown(() => {
      closing = true;
      for (const stream of streams) stream?.close();
      for (const agent of agents) agent.destroy();
    }),
  };
  const started = performance.now();
  await runPool(n, CONNECT_CONCURRENCY, async (i) => {
    const { path, headers } = system.stream(i);
    try {
      streams[i] = await openStream({
        host: server.host,
        port: server.port,
        path,
        headers: { ...headers, accept: 'text/event-stream' },
        agent: agents[Math.floor(i / STREAMS_PER_SOURCE_ADDRESS)],
        timeoutMs: CONNECT_TIMEOUT_MS,
        onEvent: (id, at) => pool.tracker?.arrived(`${i} ${id}`, at),
        onClose: () => {
          if (closing) return;
          pool.open--;
          pool.dropped++;
        },
      });
      pool.open++;
      if (pool.open % 5_000 === 0) console.log(`  ${pool.open} streams open`);
    } catch (error) {
      pool.failed++;
      if (pool.errors.length < 3) pool.errors.push(errorMessage(error));
      // Nothing works (wrong wire format, auth refused): stop rather than time out N times.
      if (pool.open === 0 && pool.failed >= CONNECT_CONCURRENCY) {
        throw new Error(`no stream opened after ${pool.failed} tries: ${pool.errors.join('; ')}`);
      }
    }
  });
  pool.openMs = performance.now() - started;
  return pool;
}
