// The load side of `npm run bench:live`: raw HTTP/1.1 SSE subscribers and a JSON POST helper. No
// tRPC client per subscriber, so one process can hold tens of thousands of streams cheaply.
import http from 'node:http';

/**
 * One keep-alive agent per loopback source address. Each address has its own ephemeral ports, so
 * spreading streams over several (127.0.0.2, .3, …) lifts the ~28k-ports-per-address ceiling and
 * keeps one system's TIME_WAIT sockets out of the next system's way.
 */
export function createSourceAgents(addresses) {
  return addresses.map(
    (localAddress) =>
      new http.Agent({ keepAlive: true, maxSockets: Infinity, localAddress, scheduling: 'fifo' }),
  );
}

/** An event block whose `event:` field is `connected` (it may follow e.g. a `retry:` line). */
const CONNECTED = /(^|\n)event: ?connected(\n|$)/;

/** The `id:` field of one SSE event block, or null (pings, `connected`, comments). */
function eventId(block) {
  const line = block.startsWith('id:') ? -1 : block.indexOf('\nid:');
  if (line < 0 && !block.startsWith('id:')) return null;
  const at = line + 1;
  const end = block.indexOf('\n', at);
  return block.slice(at + 3, end < 0 ? undefined : end).trim();
}

/**
 * Opens one SSE stream and resolves once the server's `event: connected` arrives (both servers
 * send one), so the caller knows the subscription is live. `onEvent(id, at)` gets each event that
 * carries an id, with the time its chunk arrived; `onClose()` fires if the stream ends later.
 */
export function openStream({ host, port, path, headers, agent, timeoutMs, onEvent, onClose }) {
  return new Promise((resolve, reject) => {
    let open = false;
    const request = http.request({ host, port, path, headers, agent });
    const timer = setTimeout(() => {
      request.destroy(new Error(`no 'connected' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (error) => {
      clearTimeout(timer);
      if (open) onClose(error);
      else reject(error);
    };
    request.on('error', fail);
    request.on('response', (response) => {
      response.setEncoding('utf8');
      if (response.statusCode !== 200) {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => fail(new Error(`HTTP ${response.statusCode}: ${body.trim()}`)));
        return;
      }
      let buffer = '';
      response.on('data', (chunk) => {
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

/**
 * POSTs a JSON body and resolves with the parsed JSON answer; rejects on a non-2xx status. A
 * keep-alive socket the server closed (idle timeout) just as it was reused fails with ECONNRESET
 * before anything was processed; such a request is retried once, as Node's http docs advise.
 */
export async function postJson(options) {
  try {
    return await postJsonOnce(options);
  } catch (error) {
    if (error.code !== 'ECONNRESET' || error.reusedSocket !== true) throw error;
    return postJsonOnce(options);
  }
}

function postJsonOnce({ host, port, path, body, agent }) {
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
    request.on('error', (error) => {
      error.reusedSocket = request.reusedSocket;
      reject(error);
    });
    request.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => {
        if (response.statusCode < 200 || response.statusCode > 299) {
          reject(new Error(`POST ${path}: HTTP ${response.statusCode}: ${text.slice(0, 300)}`));
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch (error) {
          reject(error);
        }
      });
    });
    request.end(payload);
  });
}

/** GETs a URL path and resolves with its parsed JSON, or null when nothing answers yet. */
export function getJson({ host, port, path }) {
  return new Promise((resolve) => {
    const request = http.get({ host, port, path, agent: false, timeout: 1_000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => {
        try {
          resolve(response.statusCode === 200 ? JSON.parse(text) : null);
        } catch {
          resolve(null);
        }
      });
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(null));
  });
}
