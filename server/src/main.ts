// `npm start`: the relay process. The only module with side effects at import.
import { ConfigError, loadRelayConfig } from './env.js';
import { createLogger } from './log.js';
import { startRelay } from './relay.js';

const log = createLogger();

async function main(): Promise<void> {
  const config = loadRelayConfig(process.env);
  const relay = await startRelay(config, { log });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('relay stopping', { signal });
    const forced = setTimeout(() => process.exit(1), 10_000);
    forced.unref();
    relay.close().then(
      () => process.exit(0),
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
  if (error instanceof ConfigError) {
    process.stderr.write(`deaddrop relay: ${error.message}\n`);
  } else {
    process.stderr.write(
      `deaddrop relay: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
  }
  process.exit(1);
});
