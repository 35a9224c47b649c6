// The subscribers of `npm run bench:live`: raw HTTP/1.1 SSE streams, no tRPC client per stream, so
// one process can hold tens of thousands of them cheaply.
import http from 'node:http';

/**
 * One keep-alive agent per loopback source address. Each address has its own ephemeral ports, so
 * spreading streams over several (127.0.0.2, .3, …) lifts the ~28k-ports-per-address ceiling and
 * keeps one system's TIME_WAIT sockets out of the next system's way.
 */
export function createSourceAgents(addresses: readonly string[]): http.Agent[] {
  return addresses.map(
    (localAddress) =>
      new http.Agent({ keepAlive: true, maxSockets: Infinity, localAddress, scheduling: 'fifo' }),
  );
}

/** An event block whose `event:` field is `connected` (it may follow e.g. a `retry:` line). */
const CONNECTED = /(^|\n)event: ?connected(\n|$)/;

/** The `id:` field of one SSE event block, or null (pings, `connected`, comments). */
function eventId(block: string): string | null {
  const line = block.startsWith('id:') ? -1 : block.indexOf('\nid:');
  if (line < 0 && !block.startsWith('id:')) return null;
  const at = line + 1;
  const end = block.indexOf('\n', at);
  return block.slice(at + 3, end < 0 ? undefined : end).trim();
}

export interface StreamRequest {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly agent: http.Agent | undefined;
  readonly timeoutMs: number;
  /** Each event that carries an id, with the time its chunk arrived (performance.now()). */
  readonly onEvent: (id: string, at: number) => void;
  /** The stream ended after it had opened. */
  readonly onClose: (error: Error) => void;
}

export interface OpenStream {
  readonly close: () => void;
}

/**
 * Opens one SSE stream and resolves once the server's `event: connected` arrives (both servers
 * send one), so the caller knows the subscription is live.
 */
export function openStream(options: StreamRequest): Promise<OpenStream> {
  const { host, port, path, headers, agent, timeoutMs, onEvent, onClose } = options;
  return new Promise((resolve, reject) => {
    let open = false;
    const request = http.request({ host, port, path, headers, agent });
    const timer = setTimeout(() => {
      request.destroy(new Error(`no 'connected' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      if (open) onClose(error);
      else reject(error);
    };
    request.on('error', fail);
    request.on('response', (response) => {
      response.setEncoding('utf8');
      if (response.statusCode !== 200) {
        let body = '';
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          fail(new Error(`HTTP ${response.statusCode ?? '?'}: ${body.trim()}`));
        });
        return;
      }
      let buffer = '';
      response.on('data', (chunk: string) => {
        const at = performance.now();
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!open && CONNECTED.test(block)) {
            open = true;
            clearTimeout(timer);
            resolve({ close: () => request.destroy() });
            continue;
          }
          const id = eventId(block);
          if (id !== null) onEvent(id, at);
        }
      });
      response.on('close', () => {
        if (open) onClose(new Error('stream ended'));
      });
    });
    request.end();
  });
}
