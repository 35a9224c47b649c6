// JSON over plain node:http for the load side of a run: no fetch or tRPC client per request, so
// the load generator costs little and the servers compared all see the same requests.
import http from 'node:http';

export interface JsonTarget {
  readonly host: string;
  readonly port: number;
  readonly path: string;
}

export interface JsonPost extends JsonTarget {
  readonly body: unknown;
  readonly agent: http.Agent;
}

/** A request error, with whether the request went out on a reused keep-alive socket. */
type PostError = NodeJS.ErrnoException & { reusedSocket?: boolean };

/**
 * POSTs a JSON body and resolves with the parsed JSON answer; rejects on a non-2xx status. A
 * keep-alive socket the server closed (idle timeout) just as it was reused fails with ECONNRESET
 * before anything was processed; such a request is retried once, as Node's http docs advise.
 */
export async function postJson(options: JsonPost): Promise<unknown> {
  try {
    return await postJsonOnce(options);
  } catch (error) {
    const failure = error as PostError;
    if (failure.code !== 'ECONNRESET' || failure.reusedSocket !== true) throw error;
    return postJsonOnce(options);
  }
}

function postJsonOnce({ host, port, path, body, agent }: JsonPost): Promise<unknown> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request({
      host,
      port,
      path,
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    });
    request.on('error', (error: PostError) => {
      error.reusedSocket = request.reusedSocket;
      reject(error);
    });
    request.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        if (status < 200 || status > 299) {
          reject(new Error(`POST ${path}: HTTP ${status}: ${text.slice(0, 300)}`));
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
    request.end(payload);
  });
}

/** GETs a URL path and resolves with its parsed JSON, or null when nothing answers (yet). */
export function getJson({ host, port, path }: JsonTarget): Promise<unknown> {
  return new Promise((resolve) => {
    const request = http.get({ host, port, path, agent: false, timeout: 1_000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        try {
          resolve(response.statusCode === 200 ? JSON.parse(text) : null);
        } catch {
          resolve(null);
        }
      });
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => {
      resolve(null);
    });
  });
}

/** The value at `path` in a parsed JSON document, or undefined where the path leads nowhere. */
export function jsonAt(value: unknown, path: readonly string[]): unknown {
  let at = value;
  for (const key of path) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** The string at `path` in a parsed JSON document; throws, naming `what`, when there is none. */
export function stringAt(value: unknown, path: readonly string[], what: string): string {
  const found = jsonAt(value, path);
  if (typeof found !== 'string') throw new Error(`${what}: no string at ${path.join('.')}`);
  return found;
}
