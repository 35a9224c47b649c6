// The relay's configuration (PROTOCOL §5): read from the environment once, here, and validated by
// zod; an invalid value stops the relay with a message naming the variable.
import { z } from 'zod';
import {
  DEFAULT_BATCH_MESSAGES,
  DEFAULT_LIMITS,
  DEFAULT_RATE_LIMITS,
  MAX_MESSAGE_BYTES_CEILING,
  PROTOCOL_LIMITS,
  RELAY_ID_PATTERN,
  type RelayLimits,
  type RateLimits,
} from '@deaddrop/contract';
import { LOG_LEVELS, type LogLevel } from './log.js';
import { KEY_PREFIX_PATTERN } from './store/redis/keys.js';

const integer = (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .optional()
    .transform((value) => value ?? fallback);

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value === '' ? undefined : value));

const commaList = optionalText.transform((value) =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== ''),
);

/**
 * Every variable the relay reads, with its default and a description: docs/configuration.md's
 * table is generated from this (`npm run docs:generate`).
 */
export const relayEnvSchema = z.object({
  PORT: integer(8000, 0, 65_535).describe(
    'HTTP port: tRPC at `/trpc` (queries, mutations, SSE and WebSocket upgrades), `/healthz`, `/readyz` and `/metrics`',
  ),
  HOST: optionalText
    .transform((value) => value ?? '127.0.0.1')
    .describe('Bind address; `0.0.0.0` serves other machines'),
  REDIS_URL: optionalText
    .pipe(
      z
        .string()
        .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
        .refine((url) => URL.canParse(url), 'must be a URL (host, port and password as in a URL)')
        .optional(),
    )
    .describe(
      '`redis://…` or `rediss://…`: selects the Redis store; unset (and no `REDIS_CLUSTER_NODES`), the embedded store',
    ),
  // host:port,host:port,… — seed nodes of a Redis Cluster (any few; the rest are discovered).
  REDIS_CLUSTER_NODES: commaList
    .pipe(
      z.array(
        z
          .string()
          .regex(/^[^\s:,]+:\d{1,5}$/, 'must be a comma-separated list of host:port')
          .transform((node) => {
            const at = node.lastIndexOf(':');
            return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
          }),
      ),
    )
    .describe(
      '`host:port,host:port,…`: seed nodes of a Redis Cluster (the rest are discovered); instead of `REDIS_URL`, never beside it',
    ),
  REDIS_WAIT_REPLICAS: integer(0, 0, 16).describe(
    'Replicas a `send` waits for (`WAIT`) before it is acknowledged; `0`: none',
  ),
  REDIS_WAIT_TIMEOUT_MS: integer(200, 1, 10_000).describe(
    'How long the `REDIS_WAIT_REPLICAS` wait may take; past it the send fails with 503 (`STORE_UNAVAILABLE`) and the client retries it',
  ),
  REDIS_KEY_PREFIX: optionalText
    .pipe(
      z
        .string()
        .regex(KEY_PREFIX_PATTERN, 'must be at most 64 characters of [A-Za-z0-9._:-]')
        .optional(),
    )
    .describe(
      'Prefix of every Redis key and channel (several relays or test runs on one Redis): at most 64 characters of `[A-Za-z0-9._:-]`',
    ),
  MAX_MESSAGE_SIZE: integer(
    DEFAULT_LIMITS.maxMessageBytes,
    169,
    MAX_MESSAGE_BYTES_CEILING,
  ).describe(
    'Largest decoded ciphertext in bytes (`info.limits.maxMessageBytes`); larger sends get 413',
  ),
  MAX_BATCH_BYTES: z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(169)
        .max(PROTOCOL_LIMITS.sendManyItemsMax * MAX_MESSAGE_BYTES_CEILING),
    )
    .optional()
    .describe(
      `Largest sum of decoded ciphertexts in one \`sendMany\` (\`info.limits.maxBatchBytes\`), at least \`MAX_MESSAGE_SIZE\`; a larger group send is refused whole with 400. Unset: ${DEFAULT_BATCH_MESSAGES} × \`MAX_MESSAGE_SIZE\``,
    ),
  MESSAGE_TTL_SECONDS: integer(DEFAULT_LIMITS.ttlSeconds, 1).describe(
    'Messages older than this are never returned and are removed (`info.limits.ttlSeconds`)',
  ),
  STREAM_MAX_LEN: integer(DEFAULT_LIMITS.maxMessages, 1).describe(
    'Mailbox quota (`info.limits.maxMessages`): a send beyond it is refused with 429 `MAILBOX_FULL`; mail is never dropped',
  ),
  AUTH_WINDOW_SECONDS: integer(DEFAULT_LIMITS.authWindowSeconds, 1, 86_400).describe(
    'Accepted clock skew of proofs and registrations (`info.limits.authWindowSeconds`)',
  ),
  MAX_WAIT_MS: integer(DEFAULT_LIMITS.maxWaitMs, 0, 3_600_000).describe(
    'Longest long-poll; a larger `waitMs` is clamped (`info.limits.maxWaitMs`)',
  ),
  WS_MAX_AGE_SECONDS: integer(3600, 1).describe(
    'WebSocket connections older than this are closed (code 4000); clients reconnect with a fresh proof',
  ),
  WS_AUTH_TIMEOUT_MS: integer(5000, 1, 600_000).describe(
    'A WebSocket on which no mailbox proof has been accepted within this long is closed (code 4001)',
  ),
  LOG_LEVEL: optionalText
    .pipe(z.enum(LOG_LEVELS).optional())
    .transform((value) => value ?? 'info')
    .describe('Least severe level logged (JSON lines on stdout)'),
  DEADDROP_METRICS_TOKEN: optionalText.describe(
    'Bearer token `/metrics` requires (`authorization: Bearer …`); unset, `/metrics` is open: keep it off public networks',
  ),
  SHUTDOWN_GRACE_MS: integer(0, 0, 60_000).describe(
    'After SIGTERM or SIGINT, how long to keep serving with `/readyz` failing before refusing connections',
  ),
  DEADDROP_RELAY_ID: optionalText
    .pipe(
      z.string().regex(RELAY_ID_PATTERN, 'must be 1–64 characters of [A-Za-z0-9._-]').optional(),
    )
    .describe(
      'The id proofs and registrations are bound to, 1–64 characters of `[A-Za-z0-9._-]`; unset, one is generated once and kept in the store',
    ),
  DEADDROP_API_KEYS: commaList.describe(
    'Comma-separated relay access keys required on every call but `info` (`x-deaddrop-api-key`, or `connectionParams.apiKey`); unset: an open relay',
  ),
  DEADDROP_DATA_DIR: optionalText
    .transform((value) => value ?? './.deaddrop-data')
    .describe('Folder of the embedded store (created 0700, its database file 0600)'),
  DEADDROP_ALLOWED_ORIGINS: commaList.describe(
    "Comma-separated browser origins allowed to open WebSockets besides the relay's own host (`*`: any); requests without an `Origin` are allowed",
  ),
  // 0 turns a limit off.
  RATE_REQUESTS_PER_SECOND: integer(DEFAULT_RATE_LIMITS.requestsPerSecond, 0).describe(
    'Calls per second from one client address, any procedure (a batch of n counts n); `0`: no limit',
  ),
  RATE_REQUEST_BURST: integer(DEFAULT_RATE_LIMITS.requestBurst, 0).describe(
    'Calls one address may make at once above `RATE_REQUESTS_PER_SECOND` (raised to that rate when lower)',
  ),
  RATE_SUBSCRIPTIONS_PER_MINUTE: integer(DEFAULT_RATE_LIMITS.subscriptionsPerMinute, 0).describe(
    'Live inbox subscriptions (SSE or WebSocket) opened per minute from one address; `0`: no limit',
  ),
  RATE_MAILBOX_MESSAGES_PER_MINUTE: integer(
    DEFAULT_RATE_LIMITS.mailboxMessagesPerMinute,
    0,
  ).describe('Messages one mailbox accepts per minute, from everyone; `0`: no limit'),
  RATE_SENDER_MESSAGES_PER_MINUTE: integer(DEFAULT_RATE_LIMITS.senderMessagesPerMinute, 0).describe(
    'Messages one mailbox accepts per minute from one address; `0`: no limit',
  ),
  RATE_REGISTRATIONS_PER_MINUTE: integer(DEFAULT_RATE_LIMITS.registrationsPerMinute, 0).describe(
    'Registrations per minute from one address; `0`: no limit',
  ),
  RATE_LIVE_CONNECTIONS_PER_ADDRESS: integer(
    DEFAULT_RATE_LIMITS.liveConnectionsPerAddress,
    0,
  ).describe(
    'Live connections (SSE streams, WebSockets) one address may hold open at once on one relay process: a cap, not a rate (`info.rateLimits.liveConnectionsPerAddress`); `0`: no cap',
  ),
  RATE_PREKEY_CLAIMS_PER_MINUTE: integer(DEFAULT_RATE_LIMITS.prekeyClaimsPerMinute, 0).describe(
    'One-time prekeys one address may claim per minute from one mailbox (`directory.claimPrekey`): draining the 200 a relay holds takes 20 minutes at the default 10, while a sender past it only falls back to non-forward-secret mail; `0`: no limit',
  ),
  DEADDROP_WEBHOOKS: optionalText
    .pipe(z.enum(['on', 'off']).optional())
    .transform((value) => value ?? 'on')
    .describe(
      '`on` or `off`: wake-up webhooks (PROTOCOL §9); `off` refuses `hooks.set` with 403 `WEBHOOKS_OFF` and sends no notices',
    ),
  DEADDROP_WEBHOOK_ALLOWED_HOSTS: commaList
    .pipe(
      z.array(
        z
          .string()
          .regex(
            /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/,
            'must be a comma-separated list of host or host:port ([v6] in brackets)',
          ),
      ),
    )
    .describe(
      'Comma-separated `host` or `host:port` webhooks may reach although they resolve to loopback, private or link-local addresses, and over `http:`; unset: `https:` to public addresses only',
    ),
  TRUST_PROXY_HOPS: integer(0, 0, 16).describe(
    'Proxies in front of the relay whose `X-Forwarded-For` entries are trusted; `0` ignores the header',
  ),
});

export interface RelayConfig {
  readonly port: number;
  readonly host: string;
  readonly redisUrl: string | undefined;
  readonly redisKeyPrefix: string | undefined;
  /** Seed nodes of a Redis Cluster; empty for a single Redis (or none). */
  readonly redisClusterNodes: readonly { readonly host: string; readonly port: number }[];
  /** Replicas a send waits for (WAIT) before it is acknowledged, and for how long at most. */
  readonly redisWait: { readonly replicas: number; readonly timeoutMs: number };
  readonly dataDir: string;
  /** The relay's limits; it always states `maxBatchBytes` (it speaks v1.1). */
  readonly limits: RelayLimits;
  readonly wsMaxAgeSeconds: number;
  /** A WebSocket on which no mailbox proof was accepted within this long is closed. */
  readonly wsAuthTimeoutMs: number;
  readonly logLevel: LogLevel;
  /** Bearer token `/metrics` requires; unset, the endpoint is open (keep it off public networks). */
  readonly metricsToken: string | undefined;
  /** After SIGTERM, how long to go on serving with /readyz failing, before refusing connections. */
  readonly shutdownGraceMs: number;
  readonly relayId: string | undefined;
  readonly apiKeys: readonly string[];
  /** Browser origins allowed to open WebSockets besides the relay's own host (`*`: any). */
  readonly allowedOrigins: readonly string[];
  readonly rateLimits: RateLimits;
  /** Proxies in front of the relay whose `X-Forwarded-For` entries are trusted (0: none). */
  readonly trustProxyHops: number;
  /** Wake-up webhooks: on or off, and the hosts they may reach inside private networks. */
  readonly webhooks: { readonly enabled: boolean; readonly allowedHosts: readonly string[] };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the relay's environment; throws a ConfigError naming every invalid variable. */
export function loadRelayConfig(env: Readonly<Record<string, string | undefined>>): RelayConfig {
  const parsed = relayEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.')}: ${issue.message}`,
    );
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  if (e.REDIS_URL !== undefined && e.REDIS_CLUSTER_NODES.length > 0) {
    throw new ConfigError(
      'invalid configuration: REDIS_URL and REDIS_CLUSTER_NODES: set one of them, not both',
    );
  }
  const maxBatchBytes = e.MAX_BATCH_BYTES ?? DEFAULT_BATCH_MESSAGES * e.MAX_MESSAGE_SIZE;
  // A group send must at least hold the largest single message.
  if (maxBatchBytes < e.MAX_MESSAGE_SIZE) {
    throw new ConfigError(
      `invalid configuration: MAX_BATCH_BYTES: must be at least MAX_MESSAGE_SIZE (${e.MAX_MESSAGE_SIZE})`,
    );
  }
  return {
    port: e.PORT,
    host: e.HOST,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    redisClusterNodes: e.REDIS_CLUSTER_NODES,
    redisWait: { replicas: e.REDIS_WAIT_REPLICAS, timeoutMs: e.REDIS_WAIT_TIMEOUT_MS },
    dataDir: e.DEADDROP_DATA_DIR,
    limits: {
      maxMessageBytes: e.MAX_MESSAGE_SIZE,
      ttlSeconds: e.MESSAGE_TTL_SECONDS,
      maxMessages: e.STREAM_MAX_LEN,
      authWindowSeconds: e.AUTH_WINDOW_SECONDS,
      maxWaitMs: e.MAX_WAIT_MS,
      maxBatchBytes,
    },
    wsMaxAgeSeconds: e.WS_MAX_AGE_SECONDS,
    wsAuthTimeoutMs: e.WS_AUTH_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
    metricsToken: e.DEADDROP_METRICS_TOKEN,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    relayId: e.DEADDROP_RELAY_ID,
    apiKeys: e.DEADDROP_API_KEYS,
    allowedOrigins: e.DEADDROP_ALLOWED_ORIGINS,
    rateLimits: {
      requestsPerSecond: e.RATE_REQUESTS_PER_SECOND,
      // A burst below one second's worth would refuse calls made at the allowed rate.
      requestBurst: Math.max(e.RATE_REQUEST_BURST, e.RATE_REQUESTS_PER_SECOND),
      subscriptionsPerMinute: e.RATE_SUBSCRIPTIONS_PER_MINUTE,
      mailboxMessagesPerMinute: e.RATE_MAILBOX_MESSAGES_PER_MINUTE,
      senderMessagesPerMinute: e.RATE_SENDER_MESSAGES_PER_MINUTE,
      registrationsPerMinute: e.RATE_REGISTRATIONS_PER_MINUTE,
      liveConnectionsPerAddress: e.RATE_LIVE_CONNECTIONS_PER_ADDRESS,
      prekeyClaimsPerMinute: e.RATE_PREKEY_CLAIMS_PER_MINUTE,
    },
    trustProxyHops: e.TRUST_PROXY_HOPS,
    webhooks: {
      enabled: e.DEADDROP_WEBHOOKS === 'on',
      allowedHosts: e.DEADDROP_WEBHOOK_ALLOWED_HOSTS,
    },
  };
}
