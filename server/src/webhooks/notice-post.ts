// One notice POST (PROTOCOL §9): to the address already checked (never resolved again), 5 s at
// most, no redirect followed, at most 1 KiB of the answer read.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { WEBHOOK_SIGNATURE_HEADER } from '@deaddrop/contract';
import type { ResolvedAddress } from './hook-target.js';

/** How much of a receiver's answer is read before the connection is dropped. */
const ANSWER_READ_BYTES = 1024;

export interface NoticePost {
  readonly url: URL;
  readonly address: ResolvedAddress;
  readonly body: string;
  readonly signature: string;
  readonly timeoutMs: number;
  /** Aborts the POST (relay shutdown): it ends as a network error. */
  readonly signal: AbortSignal;
}

/** The receiver's status, or null when there was none (network error, timeout). */
export type PostResult =
  { readonly status: number } | { readonly status: null; readonly error: string };

export function postNotice(post: NoticePost): Promise<PostResult> {
  const { address, family } = post.address;
  // The connection goes to the checked address; the URL's host still names the server (Host
  // header, TLS server name and certificate check).
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if (options.all === true) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
  const send = post.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<PostResult>((resolve) => {
    let settled = false;
    const finish = (result: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      post.signal.removeEventListener('abort', abort);
      request.destroy();
      resolve(result);
    };
    const request = send(
      post.url,
      {
        method: 'POST',
        lookup: pinned,
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(post.body),
          'user-agent': 'deaddrop-relay',
          [WEBHOOK_SIGNATURE_HEADER]: post.signature,
        },
      },
      (response: IncomingMessage) => {
        const status = response.statusCode ?? 0;
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read >= ANSWER_READ_BYTES) finish({ status });
        });
        response.on('end', () => {
          finish({ status });
        });
        response.on('error', () => {
          finish({ status });
        });
      },
    );
    const timer = setTimeout(() => {
      finish({ status: null, error: 'timed out' });
    }, post.timeoutMs);
    const abort = () => {
      finish({ status: null, error: 'aborted' });
    };
    if (post.signal.aborted) abort();
    else post.signal.addEventListener('abort', abort, { once: true });
    request.on('error', (error) => {
      finish({ status: null, error: error.message });
    });
    request.end(post.body);
  });
}
