// The plain HTTP API's live inbox (PROTOCOL §3.8): `GET /v1/<subscription path>` as a standard
// Server-Sent Events stream any EventSource or `curl -N` reads. It runs through the relay's SSE
// stream writer (live/sse-inbox.ts: the same admission, connection cap, proof, backlog watchdog,
// pings and shutdown as tRPC's SSE), with plain framing: each message an event whose `id:` is the
// message id and whose `data:` is the stored message as bare JSON; keep-alives are comments; an
// error that ends the stream is an `error` event carrying the plain error body.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TRPCError } from '@trpc/server';
import type { SseWire } from '../live/sse-inbox.js';
import { plainError, writePlainError } from './plain-answer.js';
import { queryInput, type PlainRoute } from './plain-routes.js';
import { header, searchParamsOf } from './request-context.js';

/** A comment line: ignored by every SSE parser, it keeps proxies and idle timers from cutting. */
const PLAIN_SSE_PING_FRAME = ': ping\n\n';

/** The first frame: the reconnect delay EventSource should use, and a comment saying it is open. */
function plainSseOpeningFrame(retryMs: number): string {
  return `retry: ${retryMs}\n: connected\n\n`;
}

/** One message: `id` for Last-Event-ID, `data` the stored message as JSON on one line. */
function plainSseItemFrame(id: string, data: unknown): string {
  return `id: ${id}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The error that ends a stream, in the plain API's error shape. */
function plainSseErrorFrame(error: TRPCError, path: string): string {
  return `event: error\ndata: ${JSON.stringify(plainError(error, path).body)}\n\n`;
}

/**
 * The subscription's raw input: its query parameters read as a GET route's are, and a reconnect's
 * `Last-Event-ID` header as `lastEventId` (the input field that wins over `after`). An invalid
 * header is handed to the schema, which refuses it (400) rather than silently replaying from the
 * start.
 */
function plainInboxInput(req: IncomingMessage, route: PlainRoute): Record<string, unknown> {
  const input = queryInput(route, searchParamsOf(req.url ?? ''));
  const lastEventId = header(req.headers['last-event-id']);
  return lastEventId === undefined || lastEventId === '' ? input : { ...input, lastEventId };
}

export function plainSseWire(
  req: IncomingMessage,
  res: ServerResponse,
  route: PlainRoute,
): SseWire {
  return {
    // The plain API reads credentials from the headers only.
    params: {},
    rawInput: () => plainInboxInput(req, route),
    refuse: (error) => {
      writePlainError(res, error, route.path);
    },
    opening: plainSseOpeningFrame,
    item: plainSseItemFrame,
    failure: (error) => plainSseErrorFrame(error, route.path),
    ping: PLAIN_SSE_PING_FRAME,
  };
}
