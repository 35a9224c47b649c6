// The relay's SSE stream as the SDK lets it reach the EventSource parser: each event bounded in
// size (a relay could otherwise send one endless line into memory) and the two fields that steer
// the client's reconnects held to sane values (`retry:`, and the `connected` event's
// `reconnectAfterInactivityMs`), so a hostile relay cannot make it reconnect in a tight loop.
import { DeadDropError } from '../errors.js';

export interface EventStreamLimits {
  /** Characters one event may hold, its field names and line ends included. */
  readonly maxEventChars: number;
  /**
   * How long the stream may stay silent (not even a ping) before it is ended, so the EventSource
   * reconnects: a relay that never sends `connected` (whose advice arms tRPC's own timer) cannot
   * hold a subscription silent for ever.
   */
  readonly maxIdleMs: number;
}

/** Reconnect delays a relay may ask for (ms). */
const RETRY_RANGE = { min: 250, max: 60_000 } as const;
/** How long the relay may advise waiting without a byte before reconnecting (ms). */
const INACTIVITY_RANGE = { min: 5_000, max: 120_000 } as const;
/** The guard's own bound on silence: the relay pings every 15 s and advises 40 s. */
export const DEFAULT_MAX_IDLE_MS = INACTIVITY_RANGE.max;

/** Events as large as the largest stored message (base64) plus room for its JSON. */
export function eventLimitsFor(
  maxMessageBytes: number,
  maxIdleMs: number = DEFAULT_MAX_IDLE_MS,
): EventStreamLimits {
  return { maxEventChars: Math.ceil((maxMessageBytes * 4) / 3) + 64 * 1024, maxIdleMs };
}

function clamp(value: number, range: { readonly min: number; readonly max: number }): number {
  return Math.min(Math.max(value, range.min), range.max);
}

/** One field line with its value held in range, or the line unchanged. */
function steadied(line: string, eventType: string): string {
  if (line.startsWith('retry:')) {
    const value = Number(line.slice(6).trim());
    return `retry: ${Number.isFinite(value) ? clamp(Math.round(value), RETRY_RANGE) : RETRY_RANGE.max}`;
  }
  if (eventType === 'connected' && line.startsWith('data:')) {
    let advised: unknown;
    try {
      advised = (JSON.parse(line.slice(5)) as { reconnectAfterInactivityMs?: unknown })
        .reconnectAfterInactivityMs;
    } catch {
      advised = undefined;
    }
    const ms =
      typeof advised === 'number' && Number.isFinite(advised)
        ? clamp(advised, INACTIVITY_RANGE)
        : INACTIVITY_RANGE.max;
    return `data: ${JSON.stringify({ reconnectAfterInactivityMs: ms })}`;
  }
  return line;
}

function fieldValue(line: string, name: string): string | undefined {
  if (!line.startsWith(`${name}:`)) return undefined;
  const value = line.slice(name.length + 1);
  return value.startsWith(' ') ? value.slice(1) : value;
}

/**
 * A transform over the decoded stream that passes whole events on (a blank line ends one; `\r\n`,
 * `\r` and `\n` all end lines, as in the SSE specification) and errors with a DeadDropError —
 * also handed to `onViolation` — as soon as an event grows past the bound.
 */
function eventStreamGuard(
  limits: EventStreamLimits,
  onViolation: (error: DeadDropError) => void,
): TransformStream<string, string> {
  let pending = '';
  /** Where to look for the next line end in `pending` (earlier characters hold none). */
  let searchFrom = 0;
  let lines: string[] = [];
  let eventChars = 0;
  let eventType = '';
  let failed = false;
  /** Until the first character that is not a byte order mark has been seen. */
  let atStart = true;

  const fail = (controller: TransformStreamDefaultController<string>): void => {
    failed = true;
    clearTimeout(idle);
    const error = new DeadDropError(
      'RELAY_INVALID_RESPONSE',
      `the relay misbehaved: its live inbox sent an event of more than ${limits.maxEventChars} characters`,
    );
    onViolation(error);
    controller.error(error);
  };

  const takeLines = (controller: TransformStreamDefaultController<string>, ending: boolean) => {
    for (;;) {
      let end = -1;
      for (let i = searchFrom; i < pending.length; i++) {
        const code = pending.charCodeAt(i);
        if (code === 0x0a || code === 0x0d) {
          end = i;
          break;
        }
      }
      if (end < 0) {
        searchFrom = pending.length;
        break;
      }
      // A `\r` at the very end may be the first half of `\r\n`: wait for the next chunk.
      if (pending.charCodeAt(end) === 0x0d && end === pending.length - 1 && !ending) {
        searchFrom = end;
        break;
      }
      const line = pending.slice(0, end);
      const skip = pending.charCodeAt(end) === 0x0d && pending.charCodeAt(end + 1) === 0x0a ? 2 : 1;
      pending = pending.slice(end + skip);
      searchFrom = 0;
      if (line === '') {
        // End of an event: what it held goes on as one piece, normalised to `\n`.
        if (lines.length > 0)
          controller.enqueue(`${lines.map((l) => steadied(l, eventType)).join('\n')}\n\n`);
        else controller.enqueue('\n');
        lines = [];
        eventChars = 0;
        eventType = '';
        continue;
      }
      eventChars += line.length + 1;
      if (eventChars > limits.maxEventChars) {
        fail(controller);
        return;
      }
      eventType = fieldValue(line, 'event') ?? eventType;
      lines.push(line);
    }
    if (eventChars + pending.length > limits.maxEventChars) fail(controller);
  };

  let idle: NodeJS.Timeout | undefined;
  const watchIdle = (controller: TransformStreamDefaultController<string>): void => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      failed = true;
      try {
        controller.error(new Error(`the relay sent nothing for ${limits.maxIdleMs} ms`));
      } catch {
        // Already closed or cancelled: nothing to end.
      }
    }, limits.maxIdleMs);
    // A silent stream is not a reason for the process to stay up.
    idle.unref();
  };

  return new TransformStream<string, string>({
    start(controller) {
      watchIdle(controller);
    },
    transform(chunk, controller) {
      if (failed) return;
      watchIdle(controller);
      pending += chunk;
      if (atStart) {
        // Every leading BOM goes, not only the one the specification allows: the guard and the
        // EventSource parser behind it (whose decoder drops one more) must read the same lines.
        pending = pending.replace(/^\uFEFF+/, '');
        if (pending === '') return;
        atStart = false;
      }
      takeLines(controller, false);
    },
    flush(controller) {
      clearTimeout(idle);
      if (failed) return;
      takeLines(controller, true);
      // An unfinished event at the end of the stream is dropped, as an EventSource would.
    },
  });
}

/**
 * `response` with its body passed through the guard (undecodable bytes become U+FFFD, as an
 * EventSource decodes them). Answers that are not event streams are returned untouched.
 */
export function guardEventStreamResponse(
  response: Response,
  limits: EventStreamLimits,
  onViolation: (error: DeadDropError) => void,
): Response {
  if (!response.ok || response.body === null) return response;
  const body = response.body
    // BOMs are kept for the guard to remove, so that none is dropped unseen.
    .pipeThrough(new TextDecoderStream('utf-8', { ignoreBOM: true }))
    .pipeThrough(eventStreamGuard(limits, onViolation))
    .pipeThrough(new TextEncoderStream());
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
