// The benchmark's load side for single-request cells: HTTP/1.1 keep-alive connections written to
// with requests serialised before any timing, and answers read by a minimal parser. Every system
// is driven by the same code at the same cost, a few µs per request — undici's fetch costs more per
// request than a lean server spends answering it, so on a 2-core machine it, not the server,
// would set the ceiling (it was ≈ 0.3 ms of load-side CPU per message here).
import { connect, type Socket } from 'node:net';

const HEADER_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('\r\n0\r\n\r\n');

interface RawAnswer {
  readonly status: number;
  readonly body: Buffer;
}

/** A POST of a JSON body to `path`, as bytes ready to write. */
export function rawJsonPost(host: string, path: string, body: string): Buffer {
  const payload = Buffer.from(body);
  return Buffer.concat([
    Buffer.from(
      `POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\n` +
        `content-length: ${payload.length}\r\n\r\n`,
    ),
    payload,
  ]);
}

/** Where an answer's body ends in `data`, or -1 while more is to come. */
function answerEnd(data: Buffer, headerEnd: number, head: string): number {
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length?.[1] !== undefined) {
    const end = headerEnd + Number(length[1]);
    return data.length >= end ? end : -1;
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    const at = data.indexOf(CHUNKED_END, headerEnd - 2);
    return at === -1 ? -1 : at + CHUNKED_END.length;
  }
  throw new Error(`an answer without a length: ${head.split('\r\n', 1)[0] ?? ''}`);
}

/** One keep-alive connection, one request at a time. */
class RawConnection {
  readonly #socket: Socket;
  #received: Buffer = Buffer.alloc(0);
  #waiting: { resolve(answer: RawAnswer): void; reject(error: Error): void } | undefined;
  #failed: Error | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#received = this.#received.length === 0 ? chunk : Buffer.concat([this.#received, chunk]);
      this.#deliver();
    });
    const fail = (error: Error): void => {
      this.#failed ??= error;
      this.#waiting?.reject(error);
      this.#waiting = undefined;
    };
    socket.on('error', fail);
    socket.on('close', () => {
      fail(new Error('connection closed'));
    });
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  request(bytes: Buffer): Promise<RawAnswer> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    if (this.#waiting !== undefined) return Promise.reject(new Error('one request at a time'));
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#socket.write(bytes);
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #deliver(): void {
    const headerAt = this.#received.indexOf(HEADER_END);
    if (headerAt === -1) return;
    const headerEnd = headerAt + HEADER_END.length;
    const head = this.#received.toString('latin1', 0, headerAt);
    let end: number;
    try {
      end = answerEnd(this.#received, headerEnd, head);
    } catch (error) {
      this.#socket.destroy(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (end === -1) return;
    const status = Number(head.slice(9, 12));
    const body = this.#received.subarray(headerEnd, end);
    this.#received = this.#received.subarray(end);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve({ status, body });
  }
}

/**
 * `count` connections to `port`; `send(bytes)` takes an idle one (a closed loop with as many
 * workers as connections always finds one) and throws on an answer other than 200.
 */
export async function rawConnectionPool(
  port: number,
  count: number,
): Promise<{ send(bytes: Buffer): Promise<RawAnswer>; close(): void }> {
  const all = await Promise.all(Array.from({ length: count }, () => RawConnection.open(port)));
  const idle = [...all];
  return {
    async send(bytes) {
      const connection = idle.pop();
      if (connection === undefined) throw new Error('no idle connection');
      try {
        const answer = await connection.request(bytes);
        if (answer.status !== 200)
          throw new Error(`HTTP ${answer.status}: ${answer.body.toString('utf8', 0, 200)}`);
        return answer;
      } finally {
        idle.push(connection);
      }
    },
    close() {
      for (const connection of all) connection.close();
    },
  };
}
