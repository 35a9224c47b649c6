// Writing to a response a piece at a time, waiting for the socket to drain, so a huge answer or
// event never sits whole in the response's buffer; and pauses that end when the relay closes.
import type { ServerResponse } from 'node:http';

/** Bytes (or characters, for strings) handed to one `write`. */
const CHUNK = 64 * 1024;

/** Resolves once `res` can take more, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Whether writing to `res` can still reach anyone. */
export function writable(res: ServerResponse): boolean {
  return !res.destroyed && !res.writableEnded;
}

/** Where the piece of `text` starting at `start` ends: never between the halves of a surrogate pair. */
function pieceEnd(text: string, start: number): number {
  const end = Math.min(start + CHUNK, text.length);
  const last = text.charCodeAt(end - 1);
  // A lone half would be written as U+FFFD: keep the pair in one write.
  return last >= 0xd800 && last <= 0xdbff && end < text.length ? end + 1 : end;
}

/** Writes `data` in chunks with backpressure; false when the response went away first. */
export async function writeChunked(res: ServerResponse, data: string | Buffer): Promise<boolean> {
  let start = 0;
  while (start < data.length) {
    if (!writable(res)) return false;
    const end = typeof data === 'string' ? pieceEnd(data, start) : start + CHUNK;
    const piece = typeof data === 'string' ? data.slice(start, end) : data.subarray(start, end);
    start = end;
    if (!res.write(piece)) await drained(res);
  }
  return writable(res);
}

/** Writes `chunk` `times` times with backpressure: a huge body from a small string. */
export async function writeRepeated(
  res: ServerResponse,
  chunk: string,
  times: number,
): Promise<boolean> {
  for (let written = 0; written < times; written++) {
    if (!writable(res)) return false;
    if (!res.write(chunk)) await drained(res);
  }
  return writable(res);
}

/** Waits `ms`, or less if `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
    if (signal.aborted) done();
  });
}
