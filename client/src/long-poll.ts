// Waiting for mail longer than the relay holds one request: long-polls in steps the relay accepts
// (`maxWaitMs`) from the cursor until something arrives or the caller's time is up.
import type { PollResult } from '@deaddrop/contract';
import type { PollOptions } from './client-types.js';

export interface LongPollPlan {
  readonly after: string;
  readonly limit: number;
  /** How long to wait for a first message (0: one plain poll). */
  readonly timeoutMs: number;
  /** The relay's longest wait per request (`info.limits.maxWaitMs`). */
  readonly maxWaitMs: number;
}

export async function pollUntilMessages(
  poll: (options: PollOptions) => Promise<PollResult>,
  plan: LongPollPlan,
): Promise<PollResult> {
  const deadline = Date.now() + Math.max(plan.timeoutMs, 0);
  let result = await poll({ after: plan.after, limit: plan.limit });
  while (result.messages.length === 0 && deadline - Date.now() > 0) {
    const waitMs = Math.min(deadline - Date.now(), plan.maxWaitMs);
    if (waitMs <= 0) break;
    result = await poll({ after: result.cursor, limit: plan.limit, waitMs });
  }
  return result;
}
