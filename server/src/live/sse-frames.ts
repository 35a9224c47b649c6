// The text of tRPC's SSE wire format as the relay's own writer sends it: each frame is one event
// (fields, then a blank line). tRPC's httpSubscriptionLink parses these; they are not a public API
// of tRPC, so server/test/trpc-wire-format.test.ts compares them with what tRPC's own producer
// writes, and fails when an upgrade changes the format (tRPC is pinned to an exact version).
import superjson from 'superjson';

/** Advised to clients in the `connected` event: reconnect when nothing (not even a ping) arrives. */
export const SSE_RECONNECT_AFTER_INACTIVITY_MS = 40_000;

export const SSE_PING_FRAME = 'event: ping\ndata: \n\n';

/** The first frame: the reconnect delay (EventSource's `retry`) and tRPC's `connected` event. */
export function sseConnectedFrame(retryMs: number): string {
  return `retry: ${retryMs}\nevent: connected\ndata: ${JSON.stringify({ reconnectAfterInactivityMs: SSE_RECONNECT_AFTER_INACTIVITY_MS })}\n\n`;
}

/**
 * A tracked item. Items are contract objects of strings and numbers (each parsed with its output
 * schema where it is yielded), for which superjson's form is `{ json }` with no meta: written
 * directly, without superjson's walk over every event.
 */
export function sseItemFrame(id: string, data: unknown): string {
  return `id: ${id}\ndata: ${JSON.stringify({ json: data })}\n\n`;
}

/** The error that ended a stream, as tRPC's client reads it (the relay's error shape). */
export function sseErrorFrame(shape: unknown): string {
  return `event: serialized-error\ndata: ${JSON.stringify(superjson.serialize(shape))}\n\n`;
}
