// The relay under soak: the built relay on the soak's Redis, on a port chosen once so that after it
// is killed it comes back where its clients (senders, live subscribers) reconnect to.
import { setTimeout as sleep } from 'node:timers/promises';
import { startBuiltRelay, type BuiltRelay } from '../load-support/built-relay.js';
import { HOST, freePort, waitForExit } from '../load-support/child-processes.js';
import { getJson, stringAt } from '../load-support/http-json.js';
import type { LogCounts } from '../load-support/output-capture.js';
import { isTearingDown } from '../load-support/teardown.js';

export interface RelayRestart {
  readonly readyMs: number;
  readonly outageMs: number;
}

export interface SoakRelay {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly relayId: string;
  /** Warning and error log lines of every relay process of the run, by message. */
  readonly logCounts: LogCounts;
  /** Exits nobody asked for, each with the tail of that process's output. */
  readonly unexpectedExits: string[];
  /** The running process's pid (a restart changes it). */
  pid(): number;
  /** SIGKILL (no shutdown at all), `downMs` after the exit, then the same command again. */
  killAndRestart(downMs: number): Promise<RelayRestart>;
}

export async function startRelayProcess({
  redisUrl,
  keyPrefix,
  dataDir,
}: {
  redisUrl: string;
  keyPrefix: string;
  dataDir: string;
}): Promise<SoakRelay> {
  const port = await freePort();
  const env = {
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: keyPrefix,
    STREAM_MAX_LEN: '100000',
    LOG_LEVEL: 'warn',
  };
  const logCounts: LogCounts = {};
  const unexpectedExits: string[] = [];
  let expectedExit = false;

  /** Starts the relay; resolves with it and how long it took to answer. */
  const launch = async (): Promise<{ relay: BuiltRelay; readyMs: number }> => {
    const started = performance.now();
    const launched = await startBuiltRelay({ name: 'relay', env, dataDir, port, logCounts });
    expectedExit = false;
    launched.child.once('exit', (code, signal) => {
      if (!expectedExit && !isTearingDown()) {
        unexpectedExits.push(
          `relay exited (${signal ?? String(code)}):\n${launched.output.tail()}`,
        );
      }
    });
    return { relay: launched, readyMs: performance.now() - started };
  };

  let { relay } = await launch();
  const info = await getJson({ host: HOST, port, path: '/trpc/info' });

  return {
    host: HOST,
    port,
    url: relay.url,
    relayId: stringAt(info, ['result', 'data', 'json', 'relayId'], 'relay info'),
    logCounts,
    unexpectedExits,
    pid: () => relay.pid,
    async killAndRestart(downMs) {
      expectedExit = true;
      const killed = performance.now();
      relay.child.kill('SIGKILL');
      await waitForExit(relay.child, 10_000);
      await sleep(downMs);
      const next = await launch();
      relay = next.relay;
      return { readyMs: next.readyMs, outageMs: performance.now() - killed };
    },
  };
}
