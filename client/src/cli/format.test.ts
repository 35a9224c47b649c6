import { describe, expect, it } from 'vitest';
import type { ReceivedMessage } from '../inbox-entry.js';
import { formatBytes, formatReceived, formatTime, formatUnreadable } from './format.js';

const base = {
  id: '1800000000000-0',
  from: 'alice',
  fromKey: 'ddk1_x',
  sentAt: Date.UTC(2027, 0, 15, 8, 0, 0),
  body: 'hello',
  receivedAt: 1_800_000_000_000,
  uid: 'AAAAAAAAAAAAAAAAAAAAAA',
  kind: 'message',
  fromFingerprint: '3f2a-9b1c-0000-1111-2222',
  pinSource: 'directory',
  receiptRequested: false,
  forwardSecret: false,
} as const;

describe('formatReceived', () => {
  it('shows the verdict, the fingerprint and where the pin came from', () => {
    const message: ReceivedMessage = { ...base, verified: true };
    expect(formatReceived(message)).toEqual([
      'from alice ✓ verified · key 3f2a-9b1c-0000-1111-2222 (pinned from the relay directory) · sent 2027-01-15T08:00:00.000Z · id 1800000000000-0',
      '  hello',
      '',
    ]);
  });

  it('names forward secrecy when the message was sealed to a one-time prekey', () => {
    const message: ReceivedMessage = { ...base, verified: true, forwardSecret: true };
    expect(formatReceived(message)[0]).toMatch(/ · id 1800000000000-0 · forward secret$/);
  });

  it('says a note to oneself was checked against one’s own key', () => {
    const message: ReceivedMessage = { ...base, pinSource: 'explicit', verified: true };
    expect(formatReceived(message, 'alice')[0]).toContain('(your own key)');
    expect(formatReceived(message, 'bob')[0]).toContain(
      '(pinned from the key you gave explicitly)',
    );
  });

  it('says loudly why a message is not verified, and renders JSON bodies', () => {
    const message: ReceivedMessage = {
      ...base,
      body: { task: 'x' },
      pinSource: null,
      verified: false,
      reason: 'unknown-sender',
    };
    const [header, body] = formatReceived(message);
    expect(header).toContain(
      '✗ NOT VERIFIED (unknown-sender: the sender is not registered in the relay directory)',
    );
    expect(header).toContain('(no pin)');
    expect(body).toBe('  {\n    "task": "x"\n  }');
  });
});

describe('formatTime', () => {
  it('shows any integer a sender may claim, even past what a Date holds', () => {
    expect(formatTime(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(formatTime(Number.MAX_SAFE_INTEGER)).toBe(`${Number.MAX_SAFE_INTEGER} ms after 1970`);
  });
});

describe('formatUnreadable', () => {
  it('names the message and the reason', () => {
    expect(formatUnreadable({ id: '1-0', receivedAt: 1, error: 'replayed' })).toBe(
      'warning: message 1-0 skipped: replayed (a copy of a message already received)',
    );
  });
});

describe('formatBytes', () => {
  it('uses binary units', () => {
    expect([formatBytes(393), formatBytes(2048), formatBytes(1_048_576)]).toEqual([
      '393 B',
      '2.0 KiB',
      '1.0 MiB',
    ]);
  });
});
