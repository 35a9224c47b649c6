// A reader of the plain API's live inbox (`GET /v1/inbox`) as any SSE client sees it: an HTTP
// request, then a standard event-stream parser, keeping every event, comment and `retry` advice
// in order. node:http rather than fetch: closing destroys the socket at once (an aborted fetch
// leaves it open until undici's keep-alive timeout, holding the relay's shutdown up for seconds).
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface PlainStream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Events received so far, in order. */
  readonly events: readonly EventSourceMessage[];
  /** Comment lines (without the colon), in order. */
  readonly comments: readonly string[];
  /** The last `retry:` the relay advised. */
  retry(): number | undefined;
  /** Resolves once `count` events have arrived (rejects after `timeoutMs` or at the end). */
  received(count: number, timeoutMs?: number): Promise<readonly EventSourceMessage[]>;
  /** Resolves when the stream is over (ended by the relay, or closed). */
  readonly ended: Promise<void>;
  close(): void;
}

export async function openPlainStream(
  url: string,
  headers: Record<string, string>,
  query = '',
): Promise<PlainStream> {
  const req = request(`${url}/v1/inbox${query}`, { headers });
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
    req.end();
  });
  const events: EventSourceMessage[] = [];
  const comments: string[] = [];
  let retry: number | undefined;
  let done = false;
  let wake = (): void => undefined;
  const parser = createParser({
    onEvent: (event) => {
      events.push(event);
      wake();
    },
    onComment: (comment) => {
      comments.push(comment);
    },
    onRetry: (ms) => {
      retry = ms;
    },
  });
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    parser.feed(chunk);
  });
  const ended = new Promise<void>((resolve) => {
    res.once('close', () => {
      done = true;
      wake();
      resolve();
    });
  });
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    events,
    comments,
    retry: () => retry,
    received: async (count, timeoutMs = 5_000) => {
      const deadline = Date.now() + timeoutMs;
      while (events.length < count) {
        if (done) throw new Error(`the stream ended after ${events.length} of ${count} events`);
        if (Date.now() > deadline)
          throw new Error(`${events.length} of ${count} events after ${timeoutMs} ms`);
        await Promise.race([
          new Promise<void>((resolve) => {
            wake = resolve;
          }),
          new Promise((resolve) => setTimeout(resolve, 50)),
        ]);
      }
      return events.slice(0, count);
    },
    ended,
    close: () => {
      req.destroy();
    },
  };
}
