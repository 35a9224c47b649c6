// What `npm run bench` writes to bench-results.json: the machine, the plan, and each part's figures.
import type { CryptoBenchResult } from './crypto/run-crypto-bench.js';
import type { ForwardSecrecyResults } from './forward-secrecy.js';
import type { GroupSendResult } from './group-send.js';
import type { LiveResults } from './live/live-results.js';
import type { EndToEndMeasure, PollMeasure } from './mailbox.js';
import type { SendRatio, SendResult } from './send.js';
import type { WebhookSendResult } from './webhook-send.js';
import type { WakeUpResults } from './wake-up.js';

export interface BenchMachine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number | null;
  readonly node: string;
  readonly platform: string;
  readonly loadAverageAtStart: readonly (number | null)[];
  loadAverageAtEnd?: readonly (number | null)[];
}

export interface MailboxMeasures {
  readonly poll: PollMeasure;
  readonly endToEnd: readonly EndToEndMeasure[];
}

/** bench-live's results file, or why its run failed. */
export type LivePart = LiveResults | { readonly error: string };

export interface BenchResults {
  readonly startedAt: string;
  readonly machine: BenchMachine;
  readonly plan: {
    readonly quick: boolean;
    readonly cellSeconds: number;
    readonly redis: string;
    /** Set when only one part ran (`--only`). */
    readonly only?: string;
  };
  readonly send?: {
    readonly cells: readonly SendResult[];
    readonly ratios: readonly SendRatio[];
  };
  /** One sendMany to 100 recipients against 100 sends, per store. */
  readonly groupSend: readonly GroupSendResult[];
  /** Sends to mailboxes with a wake-up hook against sends to mailboxes without, per store. */
  readonly webhook?: readonly WebhookSendResult[];
  /** sendMessage to a recipient with prekeys (v2) against one with none left (v1), per store. */
  readonly forwardSecrecy?: ForwardSecrecyResults;
  readonly mailbox?: Readonly<Record<string, MailboxMeasures>>;
  /** Long-poll wake-up against the floor (a bare node:http held GET), SDK and plain HTTP, per store. */
  readonly wakeUp?: WakeUpResults;
  readonly crypto?: CryptoBenchResult;
  readonly live?: LivePart;
}
