// A live inbox subscriber over raw HTTP/1.1 SSE, doing what tRPC's httpSubscriptionLink with an
// EventSource does — a fresh `inbox` proof per connection, `Last-Event-ID` on reconnect, the delay
// the relay advises (`retry:`), a reconnect after 40 s of silence — without their per-stream cost,
// and handing the soak every message exactly as the relay sent it (no client-side de-duplication).
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { createProof, encodeAuthorization, type AgentKeys } from '@deaddrop/contract';
import { jsonAt } from '../load-support/http-json.js';

/** The relay's advice in its `connected` event: reconnect when nothing arrives for this long. */
const INACTIVITY_MS = 40_000;
const MAX_RETRY_DELAY_MS = 5_000;
/** Connection attempts per subscriber; at 0.5 s or more apart this outlasts any soak. */
const MAX_CONNECTIONS = 5_000;
const INBOX_PATH = `/trpc/inbox?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`;

/** What the soak counts about raw streams, by cause. */
export interface RawStreamHooks {
  /** A reconnect attempt (every connection after the first). */
  attempt(): void;
  /** A stream that had opened ended. */
  lost(reason: string): void;
  /** An attempt that never streamed. */
  refused(reason: string): void;
  /** Anything else worth a count. */
  count(label: string): void;
}

export interface LiveSubscriber {
  /** Settles with the first `event: connected`. */
  readonly connected: Promise<void>;
  stop(): Promise<void>;
}

/** One SSE block's fields (`id`, `event`, `data`, `retry`); data lines joined by newlines. */
function parseBlock(block: string): Partial<Record<string, string>> {
  const fields: Partial<Record<string, string>> = {};
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    const earlier = fields[name];
    fields[name] = name === 'data' && earlier !== undefined ? `${earlier}\n${value}` : value;
  }
  return fields;
}

/** A short label for why a connection attempt failed or a stream ended. */
function errorLabel(error: NodeJS.ErrnoException): string {
  return error.code ?? error.message;
}

/** `HTTP <status> <code> <reason>` from a tRPC error answer, as far as it can be read. */
function refusalLabel(status: number, text: string): string {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return `HTTP ${status}`;
  }
  const code = jsonAt(answer, ['error', 'json', 'data', 'code']);
  const reason = jsonAt(answer, ['error', 'json', 'data', 'reason']);
  if (typeof code !== 'string') return `HTTP ${status}`;
  return `HTTP ${status} ${code}${typeof reason === 'string' ? ` ${reason}` : ''}`;
}

/** The ciphertext in a message event's data, or undefined when it cannot be read. */
function ciphertextOf(data: string | undefined): string | undefined {
  try {
    const ciphertext = jsonAt(JSON.parse(data ?? ''), ['json', 'ciphertext']);
    return typeof ciphertext === 'string' ? ciphertext : undefined;
  } catch {
    return undefined;
  }
}

export interface RawSubscriberOptions {
  readonly relay: { readonly host: string; readonly port: number };
  readonly relayId: string;
  readonly agentId: string;
  readonly keys: AgentKeys;
  readonly agent: http.Agent;
  /** Every message event, with its id and ciphertext (undefined when unreadable). */
  readonly onMessage: (id: string, ciphertext: string | undefined) => void;
  readonly events: RawStreamHooks;
}

/** Follows one mailbox until `stop()`. */
export function startRawSubscriber({
  relay,
  relayId,
  agentId,
  keys,
  agent,
  onMessage,
  events,
}: RawSubscriberOptions): LiveSubscriber {
  const controller = new AbortController();
  let request: http.ClientRequest | undefined;
  let lastEventId: string | undefined;
  let retryMs = 1_000;
  let markConnected = (): void => undefined;
  const connected = new Promise<void>((resolve) => (markConnected = resolve));

  /** One connection: resolves with whether it streamed and why it ended. */
  const connectOnce = (): Promise<{ open: boolean; reason: string }> =>
    new Promise((resolve) => {
      let open = false;
      let settled = false;
      let silence: NodeJS.Timeout | undefined;
      const finish = (reason: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(silence);
        resolve({ open, reason });
      };
      const proof = createProof({ relayId, agentId, keys, scope: 'inbox' });
      const live = http.request({
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
      request = live;
      const armSilence = (): void => {
        clearTimeout(silence);
        silence = setTimeout(() => live.destroy(new Error('silent for 40 s')), INACTIVITY_MS);
      };
      live.on('error', (error) => {
        finish(errorLabel(error));
      });
      live.on('response', (response) => {
        response.setEncoding('utf8');
        const status = response.statusCode ?? 0;
        if (status !== 200) {
          let text = '';
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => {
            finish(refusalLabel(status, text));
          });
          response.on('error', (error) => {
            finish(errorLabel(error));
          });
          return;
        }
        armSilence();
        let buffer = '';
        response.on('data', (chunk: string) => {
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
              const ciphertext = ciphertextOf(fields.data);
              if (ciphertext === undefined) events.count('message event with unreadable data');
              onMessage(fields.id, ciphertext);
            }
          }
        });
        response.on('error', (error) => {
          finish(errorLabel(error));
        });
        response.on('close', () => {
          finish(open ? 'stream ended by relay' : 'closed before start');
        });
      });
      live.end();
    });

  // A function, not the property itself: `stop()` aborts while a connection is awaited.
  const stopped = (): boolean => controller.signal.aborted;
  const run = async (): Promise<void> => {
    let failures = 0;
    for (let attempt = 0; attempt < MAX_CONNECTIONS && !stopped(); attempt++) {
      if (attempt > 0) events.attempt();
      const { open, reason } = await connectOnce();
      if (stopped()) return;
      if (open) {
        events.lost(reason);
        failures = 0;
      } else {
        events.refused(reason);
        failures += 1;
      }
      const backoff = Math.min(retryMs * 2 ** Math.max(failures - 1, 0), MAX_RETRY_DELAY_MS);
      // Cut short by `stop()`: the loop then sees the abort.
      await sleep(backoff * (0.75 + Math.random() / 2), undefined, {
        signal: controller.signal,
      }).catch(() => undefined);
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
