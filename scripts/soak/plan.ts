// What one `npm run soak` run does, from its flags and the fd limit it runs under.
import { parseArgs } from 'node:util';
import { defaultRelayRestartAt, type RedisSignal } from './chaos.js';

/** A flag whose value is a number, checked against its range once read. */
const NUMBER = { type: 'string' } as const;

/** Descriptors besides the streams: sends in flight are added; this covers listeners, files, stdio. */
const FD_HEADROOM = 300;

export interface SoakPlan {
  readonly seconds: number;
  /** Messages per second. */
  readonly rate: number;
  readonly subscribers: number;
  readonly perMailbox: number;
  readonly mailboxCount: number;
  /** Mailboxes whose first subscriber is an SDK subscription. */
  readonly sdk: number;
  /** Seconds between redis-server restarts; 0: never. */
  readonly redisEvery: number;
  readonly redisDownMs: number;
  readonly redisSignal: 'alternate' | RedisSignal;
  /** Seconds into the run; -1: no relay restart. */
  readonly relayRestartAt: number;
  readonly relayDownMs: number;
  readonly drainMs: number;
  readonly maxInFlight: number;
}

function isRedisSignal(value: string): value is SoakPlan['redisSignal'] {
  return value === 'alternate' || value === 'SIGKILL' || value === 'SIGTERM';
}

export function readPlan(fdLimit: number): SoakPlan {
  const { values } = parseArgs({
    options: {
      'no-relay-restart': { type: 'boolean', default: false },
      seconds: NUMBER,
      rate: NUMBER,
      subscribers: NUMBER,
      'per-mailbox': NUMBER,
      sdk: NUMBER,
      'redis-every': NUMBER,
      'redis-down': NUMBER,
      'redis-signal': { type: 'string' },
      'relay-restart-at': NUMBER,
      'relay-down': NUMBER,
      drain: NUMBER,
      'max-in-flight': NUMBER,
    },
  });
  type NumberFlag = Exclude<keyof typeof values, 'no-relay-restart' | 'redis-signal'>;
  const numberOption = (name: NumberFlag, fallback: number, min: number, max: number): number => {
    const text = values[name];
    const value = text === undefined ? fallback : Number(text);
    if (!(Number.isFinite(value) && value >= min && value <= max)) {
      throw new Error(`--${name} must be a number from ${min} to ${max}`);
    }
    return value;
  };
  const seconds = numberOption('seconds', 120, 5, 3_600);
  const maxInFlight = Math.trunc(numberOption('max-in-flight', 1_000, 1, 5_000));
  const ceiling = Math.max(fdLimit - FD_HEADROOM - maxInFlight, 1);
  const subscribers = Math.trunc(numberOption('subscribers', 1_000, 1, ceiling));
  const perMailbox = Math.trunc(numberOption('per-mailbox', 2, 1, 50));
  const mailboxCount = Math.ceil(subscribers / perMailbox);
  const redisEvery = numberOption('redis-every', 30, 0, 3_600);
  const redisSignal = values['redis-signal'] ?? 'alternate';
  if (!isRedisSignal(redisSignal)) {
    throw new Error('--redis-signal must be alternate, SIGKILL or SIGTERM');
  }
  return {
    seconds,
    rate: numberOption('rate', 100, 1, 1_000),
    subscribers,
    perMailbox,
    mailboxCount,
    sdk: Math.trunc(numberOption('sdk', Math.min(20, mailboxCount), 0, mailboxCount)),
    redisEvery,
    redisDownMs: 1000 * numberOption('redis-down', 2, 0, 60),
    redisSignal,
    relayRestartAt: values['no-relay-restart']
      ? -1
      : numberOption(
          'relay-restart-at',
          redisEvery > 0 ? defaultRelayRestartAt(seconds, redisEvery) : seconds / 2,
          0,
          seconds,
        ),
    relayDownMs: 1000 * numberOption('relay-down', 1, 0, 60),
    drainMs: 1000 * numberOption('drain', 30, 1, 600),
    maxInFlight,
  };
}
