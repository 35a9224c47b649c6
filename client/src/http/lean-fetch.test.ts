import { createServer, type IncomingMessage, type Server } from 'node:http';
import {
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
} from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLeanAgents,
  createLeanFetch,
  destroyLeanAgents,
  leanFetch,
  type LeanResponse,
} from './lean-fetch.js';

interface Seen {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
  port: number | undefined;
}

describe('leanFetch', () => {
  let server: Server;
  let base: string;
  const seen: Seen[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({
          method: req.method,
          url: req.url,
          headers: req.headers,
          body,
          port: req.socket.remotePort,
        });
        if (req.url === '/slow') return; // never answers
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ echo: body, method: req.method }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends method, headers and body, and answers status, headers, text and json', async () => {
    const response = (await leanFetch(`${base}/x?y=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-a': 'b' },
      body: '{"k":"ü"}',
    })) as LeanResponse;
    expect(response.ok).toBe(true);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(await response.json()).toEqual({ echo: '{"k":"ü"}', method: 'POST' });
    const request = seen.at(-1);
    expect(request).toMatchObject({ method: 'POST', url: '/x?y=1', body: '{"k":"ü"}' });
    expect(request?.headers).toMatchObject({ 'x-a': 'b', 'content-length': '10' });
  });

  it('reports a non-2xx answer as not ok, and keeps the connection alive between calls', async () => {
    const missing = (await leanFetch(`${base}/missing`)) as LeanResponse;
    expect(missing.ok).toBe(false);
    expect(missing.status).toBe(404);
    await leanFetch(`${base}/again`);
    const [first, second] = seen.slice(-2);
    expect(first?.port).toBe(second?.port);
  });

  it('fails like the platform fetch: TypeError "fetch failed" with the socket error as cause', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const failure: unknown = await leanFetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as TypeError).message).toBe('fetch failed');
    expect(((failure as TypeError).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('aborts with an AbortError when the signal fires', async () => {
    const failure: unknown = await leanFetch(`${base}/slow`, {
      signal: AbortSignal.timeout(50),
    }).catch((e: unknown) => e);
    expect((failure as Error).name).toBe('AbortError');
  });
});

describe('a pooled connection the server closed as idle', () => {
  // A raw server that answers the first request on each connection with keep-alive, and resets
  // the connection when a second request comes on it: the race between a server's idle timeout
  // and a client reusing the connection, made certain.
  let server: NetServer;
  let base: string;
  let connections = 0;

  beforeAll(async () => {
    server = createNetServer((socket) => {
      connections++;
      let requests = 0;
      socket.on('data', () => {
        requests++;
        if (requests > 1) {
          socket.resetAndDestroy();
          return;
        }
        socket.write(
          'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\n{}',
        );
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends the request again on a new connection instead of failing it', async () => {
    const agents = createLeanAgents();
    const fetchOnce = createLeanFetch({ agents });
    try {
      expect(await (await fetchOnce(`${base}/a`)).json()).toEqual({});
      expect(await (await fetchOnce(`${base}/b`, { method: 'POST', body: '{}' })).json()).toEqual(
        {},
      );
      expect(connections).toBe(2);
    } finally {
      destroyLeanAgents(agents);
    }
  });
});
