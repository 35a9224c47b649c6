// A live inbox subscriber over raw HTTP/1.1 SSE, doing what tRPC's httpSubscriptionLink with an
// EventSource does — a fresh `inbox` proof per connection, `Last-Event-ID` on reconnect, the delay
// the relay advises (`retry:`), a reconnect after 40 s of silence — without their per-stream cost,
// and handing the soak every message exactly as the relay sent it (no client-side de-duplication).
import http from 'node:http';
import { createProof, encodeAuthorization } from '@deaddrop/contract';

/** The relay's advice in its `connected` event: reconnect when nothing arrives for this long. */
const INACTIVITY_MS = 40_000;
const MAX_RETRY_DELAY_MS = 5_000;
/** Connection attempts per subscriber; at 0.5 s or more apart this outlasts any soak. */
const MAX_CONNECTIONS = 5_000;
const INBOX_PATH = `/trpc/inbox?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`;

/** Waits `ms`, or less if `signal` aborts meanwhile. */
function pause(ms, signal) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** One SSE block's fields (`id`, `event`, `data`, `retry`); data lines joined by newlines. */
function parseBlock(block) {
  const fields = {};
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    fields[name] =
      name === 'data' && fields.data !== undefined ? `${fields.data}\n${value}` : value;
  }
  return fields;
}

/** A short label for why a connection attempt failed or a stream ended. */
function errorLabel(error) {
  if (error.code !== undefined) return error.code;
  return error.message;
}

function refusalLabel(status, text) {
  try {
    const { data } = JSON.parse(text).error.json;
    return `HTTP ${status} ${data.code}${data.reason === undefined ? '' : ` ${data.reason}`}`;
  } catch {
    return `HTTP ${status}`;
  }
}

/**
 * Follows one mailbox until `stop()`. `onMessage(id, ciphertext)` gets every message event;
 * `events` counts connections lost and attempts refused, by cause. `connected` settles with the
 * first `event: connected`.
 */
export function startRawSubscriber({ relay, relayId, agentId, keys, agent, onMessage, events }) {
  const controller = new AbortController();
  let request;
  let lastEventId;
  let retryMs = 1_000;
  let markConnected;
  const connected = new Promise((resolve) => (markConnected = resolve));

  /** One connection: resolves with whether it streamed and why it ended. */
  const connectOnce = () =>
    new Promise((resolve) => {
      let open = false;
      let settled = false;
      let silence;
      const finish = (reason) => {
        if (settled) return;
        settled = true;
        clearTimeout(silence);
        resolve({ open, reason });
      };
      const proof = createProof({ relayId, agentId, keys, scope: 'inbox' });
      request = http.request({
        host: relay.host,
        port: relay.port,
        path: INBOX_PATH,
        agent,
        headers: {
          accept: 'text/event-stream',
          authorization: encodeAuthorization(proof),
          ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
        },
      });
      const live = request;
      const armSilence = () => {
        clearTimeout(silence);
        silence = setTimeout(() => live.destroy(new Error('silent for 40 s')), INACTIVITY_MS);
      };
      live.on('error', (error) => finish(errorLabel(error)));
      live.on('response', (response) => {
        response.setEncoding('utf8');
        if (response.statusCode !== 200) {
          let text = '';
          response.on('data', (chunk) => (text += chunk));
          response.on('end', () => finish(refusalLabel(response.statusCode, text)));
          response.on('error', (error) => finish(errorLabel(error)));
          return;
        }
        armSilence();
        let buffer = '';
        response.on('data', (chunk) => {
          armSilence();
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const fields = parseBlock(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            if (fields.retry !== undefined && /^\d+$/.test(fields.retry)) {
              retryMs = Number(fields.retry);
            }
            if (fields.event === 'connected') {
              open = true;
              markConnected();
            } else if (fields.event === 'serialized-error') {
              events.count('serialized-error event');
            } else if (fields.event === undefined && fields.id !== undefined) {
              lastEventId = fields.id;
              let ciphertext;
              try {
                ciphertext = JSON.parse(fields.data).json.ciphertext;
              } catch {
                events.count('message event with unreadable data');
              }
              onMessage(fields.id, ciphertext);
            }
          }
        });
        response.on('error', (error) => finish(errorLabel(error)));
        response.on('close', () => finish(open ? 'stream ended by relay' : 'closed before start'));
      });
      live.end();
    });

  const run = async () => {
    let failures = 0;
    for (let attempt = 0; attempt < MAX_CONNECTIONS && !controller.signal.aborted; attempt++) {
      if (attempt > 0) events.attempt();
      const { open, reason } = await connectOnce();
      if (controller.signal.aborted) return;
      if (open) {
        events.lost(reason);
        failures = 0;
      } else {
        events.refused(reason);
        failures += 1;
      }
      const backoff = Math.min(retryMs * 2 ** Math.max(failures - 1, 0), MAX_RETRY_DELAY_MS);
      await pause(backoff * (0.75 + Math.random() / 2), controller.signal);
    }
  };
  const done = run();

  return {
    connected,
    async stop() {
      controller.abort();
      request?.destroy();
      await done;
    },
  };
}
