// Structured JSON log lines (pino) on stdout. Callers pass facts, never ciphertexts, proofs, keys or
// seeds; the redaction below is the backstop for a field that slips through.
import { pino } from 'pino';

export interface Logger {
  /** Detail of a client's mistake (a parser's message): kept out of answers, off by default. */
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Field names that can hold a secret or a sealed message; censored at top level and one level down. */
const SECRET_FIELDS = [
  'ciphertext',
  'authorization',
  'proof',
  'agentKey',
  'key',
  'seed',
  'secret',
  'token',
  'apiKey',
  'password',
];
const REDACTED_PATHS = SECRET_FIELDS.flatMap((field) => [field, `*.${field}`]);

export interface LoggerOptions {
  readonly level?: LogLevel;
}

export function createLogger(
  stream: NodeJS.WritableStream = process.stdout,
  options: LoggerOptions = {},
): Logger {
  const logger = pino(
    {
      level: options.level ?? 'info',
      // The line shape the relay has always written: {time, level, msg, ...fields}.
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    stream,
  );
  return {
    debug: (msg, fields) => {
      logger.debug(fields ?? {}, msg);
    },
    info: (msg, fields) => {
      logger.info(fields ?? {}, msg);
    },
    warn: (msg, fields) => {
      logger.warn(fields ?? {}, msg);
    },
    error: (msg, fields) => {
      logger.error(fields ?? {}, msg);
    },
  };
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
