// What `npm run bench:live` writes to bench-live-results.json (and `npm run bench` embeds): the
// machine, the plan, the build measured, each system's figures and the goals checked.
import { join } from 'node:path';
import { ROOT } from '../../load-support/child-processes.js';
import type { FdLimit } from '../../load-support/fd-limit.js';
import type { LogCounts } from '../../load-support/output-capture.js';
import type { CpuShares } from './cpu-meter.js';
import type { GoalCheck } from '../goals.js';
import type { MachineDescription, BuildProvenance } from './machine.js';
import type { LivePlan } from './plan.js';
import type { SaturationResult } from './saturation.js';
import type { BurstResult, RateResult } from './send-phases.js';

export const LIVE_RESULTS_FILE = join(ROOT, 'bench-live-results.json');

/** Streams opened, then RSS and idle CPU with all of them held. */
export interface StreamsMeasure {
  readonly sourceAddresses: readonly string[];
  readonly connected: number;
  readonly connectFailures: number;
  readonly connectErrors: readonly string[];
  readonly connectSeconds: number | null;
  readonly connectCpu: CpuShares;
  readonly idleCpu: CpuShares;
  readonly serverFds: number;
  readonly rssBeforeKB: number;
  readonly rssAfterKB: number;
  readonly rssPerStreamKB: number | null;
  readonly benchRssKB: number;
}

export interface LiveSystemResult extends StreamsMeasure {
  readonly system: string;
  readonly label: string;
  readonly n: number;
  readonly fdLimit: FdLimit;
  readonly heapSnapshotBeforeConnect?: string | null;
  readonly heapSnapshotAfterConnect?: string | null;
  readonly burst: BurstResult;
  readonly rates: readonly RateResult[];
  readonly saturation: SaturationResult;
  readonly heapSnapshotAtEnd?: string | null;
  /** Streams still open at the end. */
  readonly held: number;
  readonly dropped: number;
  readonly rssEndKB: number;
  readonly serverLog: LogCounts;
}

export interface LivePlanRecord extends LivePlan {
  readonly bodyBytes?: number;
  readonly envelopeChars?: number;
}

/** Filled as the run goes, so that an interrupted run still writes what it measured. */
export interface LiveResults {
  startedAt: string;
  machine?: MachineDescription;
  plan?: LivePlanRecord;
  build?: BuildProvenance;
  ours?: Partial<LiveSystemResult>;
  baseline?: Partial<LiveSystemResult>;
  goals?: GoalCheck[];
}
