// @deaddrop/server: the relay as a library (for embedding and tests); `main.ts` is the process.
export { createRelayApp } from './app.js';
export { loadRelayConfig, ConfigError, type RelayConfig } from './env.js';
export { startRelay, type RunningRelay, type StartRelayOptions } from './relay.js';
export { createAppRouter, type RelayRouter } from './router.js';
export { createLogger, silentLogger, type Logger } from './log.js';
export type { MailboxStore, StoreOptions } from './store/mailbox-store.js';
export { createMailboxStore } from './store/create-store.js';
