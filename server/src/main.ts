// `npm start`, `deaddrop-relay`: the relay process. The only module with side effects at import.
import { RelayUsageError, readRelayCommandLine, relayUsage } from './command-line.js';
import { ConfigError, loadRelayConfig } from './env.js';
import { createLogger } from './log.js';
import { serverPackageVersion } from './package-version.js';
import { startRelay } from './relay.js';

/** A graceful shutdown (relay.close) not over this long after its grace is cut short (exit 1). */
const FORCED_EXIT_MS = 10_000;
const EXIT_USAGE = 2;

async function main(): Promise<void> {
  const commandLine = readRelayCommandLine(process.argv.slice(2));
  switch (commandLine.kind) {
    case 'help':
      process.stdout.write(`${relayUsage().join('\n')}\n`);
      return;
    case 'version':
      process.stdout.write(`deaddrop-relay ${serverPackageVersion()}\n`);
      return;
    case 'serve':
      break;
  }
  const config = loadRelayConfig(process.env);
  const log = createLogger(process.stdout, { level: config.logLevel });
  const relay = await startRelay(config, { log });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('relay stopping', { signal });
    const started = Date.now();
    const bound = config.shutdownGraceMs + FORCED_EXIT_MS;
    const forced = setTimeout(() => {
      log.error('shutdown did not finish in time; exiting', { afterMs: bound });
      process.exit(1);
    }, bound);
    forced.unref();
    relay.close().then(
      () => {
        log.info('relay stopped', { ms: Date.now() - started });
        process.exit(0);
      },
      (error: unknown) => {
        log.error('shutdown failed', {
          error: error instanceof Error ? error.message : String(error),
        });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => {
    stop('SIGTERM');
  });
  process.on('SIGINT', () => {
    stop('SIGINT');
  });
}

main().catch((error: unknown) => {
  if (error instanceof RelayUsageError) {
    process.stderr.write(`deaddrop-relay: ${error.message}\n`);
    process.exit(EXIT_USAGE);
  }
  if (error instanceof ConfigError) {
    process.stderr.write(`deaddrop relay: ${error.message}\n`);
  } else {
    process.stderr.write(
      `deaddrop relay: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
  }
  process.exit(1);
});
