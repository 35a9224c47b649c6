import { describe, expect, it } from 'vitest';
import superjson from 'superjson';
import {
  decodeAuthorization,
  deriveAgentKeys,
  generateSeed,
  relayErrors,
  verifyProofSignature,
  type StoredMessage,
} from '@deaddrop/contract';
import { openLiveConnection, type SseAuthPlacement } from './live-connection.js';

const keys = deriveAgentKeys(generateSeed());
const relayId = 'relay-test';
const message: StoredMessage = { id: '7-0', ciphertext: 'abc', receivedAt: 7, expiresAt: 8 };

interface Attempt {
  readonly url: URL;
  readonly headers: Headers;
}

/**
 * A relay that streams one message (asking for a 10 ms reconnect delay), ends the stream, and
 * then refuses the reconnect with 401 as the relay's SSE pre-auth does.
 */
function fakeSseRelay() {
  const attempts: Attempt[] = [];
  const fetchImpl = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input);
    attempts.push({ url, headers: new Headers(init?.headers) });
    if (attempts.length === 1) {
      const data = JSON.stringify(superjson.serialize(message));
      const body = `retry: 10\n\nevent: connected\ndata: {}\n\nid: ${message.id}\ndata: ${data}\n\n`;
      return Promise.resolve(
        new Response(body, { headers: { 'content-type': 'text/event-stream' } }),
      );
    }
    const shape = {
      message: 'authorization nonce was already used',
      code: -32001,
      data: { code: 'UNAUTHORIZED', httpStatus: 401, reason: 'AUTH_REPLAYED' },
    };
    return Promise.resolve(
      new Response(JSON.stringify({ error: superjson.serialize(shape) }), {
        status: 401,
        headers: { 'content-type': 'application/json' },
      }),
    );
  };
  return { attempts, fetch: fetchImpl };
}

async function run(authIn: SseAuthPlacement) {
  const relay = fakeSseRelay();
  const connection = openLiveConnection({
    relayUrl: 'http://relay.test',
    apiKey: 'access-key',
    signer: { agentId: 'alice', keys },
    relayId: () => Promise.resolve(relayId),
    transport: 'sse',
    authIn,
    maxMessageBytes: 1_048_576,
    fetch: relay.fetch,
  });
  const received: unknown[] = [];
  const error = await new Promise<unknown>((resolve) => {
    connection.relay.inbox.subscribe(
      { after: '0-0' },
      { onData: ({ data }) => received.push(data), onError: resolve },
    );
  });
  connection.close();
  return { relay, connection, received, error };
}

function proofIn(text: string | null | undefined) {
  const proof = decodeAuthorization(text ?? undefined);
  if (proof === null) throw new Error(`no proof in ${String(text)}`);
  expect(verifyProofSignature(relayId, proof, keys.verifyKey)).toBe(true);
  return proof;
}

describe('openLiveConnection over SSE', () => {
  it('signs a fresh header proof for every attempt, reconnects included', async () => {
    const { relay, connection, received, error } = await run('header');
    expect(received).toEqual([message]);
    expect(relay.attempts).toHaveLength(2);
    const [first, second] = relay.attempts.map((attempt) => {
      expect(attempt.headers.get('x-deaddrop-api-key')).toBe('access-key');
      expect(attempt.url.searchParams.has('connectionParams')).toBe(false);
      return proofIn(attempt.headers.get('authorization'));
    });
    expect(first?.scope).toBe('inbox');
    expect(second?.nonce).not.toBe(first?.nonce);
    expect(relay.attempts[1]?.headers.get('last-event-id')).toBe(message.id);
    // The refusal is read from the 401 answer, which the EventSource itself never exposes.
    expect(error).toBeDefined();
    expect(connection.refusal).toMatchObject({
      reason: 'AUTH_REPLAYED',
      httpStatus: 401,
      message: relayErrors.AUTH_REPLAYED.message,
    });
    expect(connection.reusedProof).toBe(false);
  });

  it('with connectionParams, puts the proof in the URL and knows when a reconnect reuses it', async () => {
    const { relay, connection, received } = await run('connectionParams');
    expect(received).toEqual([message]);
    expect(relay.attempts).toHaveLength(2);
    for (const attempt of relay.attempts) {
      expect(attempt.headers.has('authorization')).toBe(false);
      const params = JSON.parse(attempt.url.searchParams.get('connectionParams') ?? '{}') as {
        authorization?: string;
        apiKey?: string;
      };
      expect(params.apiKey).toBe('access-key');
      expect(proofIn(params.authorization).scope).toBe('inbox');
    }
    expect(relay.attempts[1]?.url.href).toBe(relay.attempts[0]?.url.href);
    expect(connection.reusedProof).toBe(true);
    expect(connection.refusal?.reason).toBe('AUTH_REPLAYED');
  });
});
