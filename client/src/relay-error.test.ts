import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { DeadDropError } from './errors.js';
import { toDeadDropError } from './relay-error.js';

const url = 'http://relay.test';

function relayError(message: string, data: Record<string, unknown>) {
  return TRPCClientError.from({ error: { message, code: -32600, data } });
}

describe('toDeadDropError', () => {
  it('keeps the relay catalogue reason, message, status and retry hint', () => {
    const error = toDeadDropError(
      relayError('mailbox full: 10000 messages waiting', {
        code: 'TOO_MANY_REQUESTS',
        httpStatus: 429,
        reason: 'MAILBOX_FULL',
        retryAfterMs: 500,
      }),
      url,
    );
    expect(error).toBeInstanceOf(DeadDropError);
    expect(error).toMatchObject({
      reason: 'MAILBOX_FULL',
      message: 'mailbox full: 10000 messages waiting',
      httpStatus: 429,
      retryAfterMs: 500,
    });
  });

  it('labels a relay error without a catalogue reason RELAY_ERROR', () => {
    const error = toDeadDropError(relayError('odd', { code: 'BAD_REQUEST', reason: 'NOPE' }), url);
    expect(error.reason).toBe('RELAY_ERROR');
  });

  it('recognises an unreachable relay and says where it looked', () => {
    const cause = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    const error = toDeadDropError(TRPCClientError.from(cause), url);
    expect(error.reason).toBe('RELAY_UNREACHABLE');
    expect(error.message).toContain(url);
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('flags a server that does not speak the protocol', () => {
    const error = toDeadDropError(TRPCClientError.from(new SyntaxError('Unexpected token <')), url);
    expect(error.reason).toBe('RELAY_INVALID_RESPONSE');
  });

  it('passes DeadDropErrors through, also when wrapped by tRPC', () => {
    const original = new DeadDropError('NOT_PINNED', 'x');
    expect(toDeadDropError(original, url)).toBe(original);
    expect(toDeadDropError(TRPCClientError.from(original), url)).toBe(original);
  });
});
