// What one `npm run bench:live` run does, from its flags and the fd limit it runs under.
import os from 'node:os';
import { parseArgs } from 'node:util';

/** Descriptors each process keeps besides its streams: listener, store, stdio, sender sockets. */
const FD_HEADROOM = 500;
/** `--max` stops here even on a machine with a huge fd limit: the run must stay bounded. */
const MAX_STREAMS = 100_000;
/**
 * The rates the saturation search steps through after the fixed ones, until a system misses one:
 * bounded, so a system that holds them all is reported as holding the last.
 */
const SATURATION_RATES = [1_500, 2_000, 3_000, 4_000, 6_000];

export interface LivePlan {
  /** Subscribers (one mailbox each) per system. */
  readonly n: number;
  readonly quick: boolean;
  readonly redis: boolean;
  /** Steady send rates, messages per second, one phase each. */
  readonly rates: readonly number[];
  readonly rateSeconds: number;
  /** Rates of the saturation search, ascending (empty with `--no-saturation`). */
  readonly saturationRates: readonly number[];
  /** Each saturation phase is shorter than a fixed rate's: it asks only "held or not". */
  readonly saturationSeconds: number;
  readonly deadlineMs: number;
  /** Where the embedded store's folder goes. */
  readonly dataParent: string;
  readonly heapSnapshot: boolean;
  readonly cpuProfile: boolean;
  /** Exit non-zero when a goal is missed. */
  readonly check: boolean;
}

export function readPlan(hardFdLimit: number): LivePlan {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      max: { type: 'boolean', default: false },
      n: { type: 'string' },
      redis: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      deadline: { type: 'string' },
      'data-dir': { type: 'string', default: os.tmpdir() },
      'heap-snapshot': { type: 'boolean', default: false },
      'cpu-profile': { type: 'boolean', default: false },
      check: { type: 'boolean', default: false },
      'no-saturation': { type: 'boolean', default: false },
    },
  });
  const ceiling = Math.min(MAX_STREAMS, hardFdLimit - FD_HEADROOM);
  const n = values.max ? ceiling : Number(values.n ?? 1_000);
  if (!Number.isInteger(n) || n < 1 || n > ceiling) {
    throw new Error(
      `--n must be a whole number from 1 to ${ceiling} (fd hard limit ${hardFdLimit})`,
    );
  }
  const rateSeconds = Number(values.seconds ?? (values.quick ? 5 : 10));
  if (!(rateSeconds > 0 && rateSeconds <= 60)) throw new Error('--seconds must be 1 to 60');
  return {
    n,
    quick: values.quick,
    redis: values.redis,
    rates: [500, 1_000],
    rateSeconds,
    saturationRates: values['no-saturation'] ? [] : SATURATION_RATES,
    saturationSeconds: values.quick ? 2 : 3,
    // Setup on the embedded store is fsync-bound (a few ms per registration and per stream); the
    // saturation search adds up to a minute or two per system.
    deadlineMs: 1000 * Number(values.deadline ?? (values.quick ? 420 : 840 + Math.ceil(n * 0.03))),
    dataParent: values['data-dir'],
    heapSnapshot: values['heap-snapshot'],
    cpuProfile: values['cpu-profile'],
    check: values.check,
  };
}
