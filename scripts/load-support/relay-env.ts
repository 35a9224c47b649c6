// The environment a run gives the relays it starts: nothing inherited that would pick another
// relay or store, and rate limits that every request still passes through but never reaches.
/**
 * Rate limits a benchmark's relay runs with: every check still runs (and costs what it costs), but
 * one load generator on one address never reaches them. (Tests turn them off instead: `0`.)
 */
export const BENCH_RATE_LIMITS: Readonly<Record<string, string>> = Object.fromEntries(
  [
    'RATE_REQUESTS_PER_SECOND',
    'RATE_REQUEST_BURST',
    'RATE_SUBSCRIPTIONS_PER_MINUTE',
    'RATE_MAILBOX_MESSAGES_PER_MINUTE',
    'RATE_SENDER_MESSAGES_PER_MINUTE',
    'RATE_REGISTRATIONS_PER_MINUTE',
    'RATE_LIVE_CONNECTIONS_PER_ADDRESS',
    'RATE_PREKEY_CLAIMS_PER_MINUTE',
  ].map((name) => [name, '1000000000']),
);

const RELAY_VARIABLE =
  /^(PORT|HOST|REDIS_|DEADDROP_|MAX_|MESSAGE_TTL|STREAM_MAX|AUTH_WINDOW|WS_MAX|WS_AUTH|RATE_|TRUST_PROXY|NODE_OPTIONS$)/;

/** This process's environment minus the variables that would change which relay or store a child gets. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !RELAY_VARIABLE.test(name)) env[name] = value;
  }
  return env;
}
