// Renderings for the CLI, human-readable or one JSON object per line (`--json`). Body lines are
// indented, so no body can pass for a header line; the CLI's output escapes control characters
// (terminal-text.ts).
import type { InboxEntry, ReceivedMessage, UnreadableMessage } from '../inbox-entry.js';
import { isUnreadable, problemDescriptions } from '../inbox-entry.js';
import { describePinSource } from '../pins.js';
import type { CliIo } from './io.js';

/** An ISO time, or the number itself when no Date can hold it (a sender's `sentAt` is any integer). */
export function formatTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? `${ms} ms after 1970` : date.toISOString();
}

const BODY_INDENT = '  ';

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Header line then body; the verdict and the pin's source are always shown. `reader` is the
 * agent reading: a note from itself was checked against its own key, not a pin.
 */
export function formatReceived(message: ReceivedMessage, reader?: string): string[] {
  const verdict = message.verified
    ? '✓ verified'
    : `✗ NOT VERIFIED (${message.reason}: ${problemDescriptions[message.reason]})`;
  const pin =
    message.from === reader && message.verified
      ? 'your own key'
      : message.pinSource === null
        ? 'no pin'
        : `pinned from the ${describePinSource(message.pinSource)}`;
  const kind = message.kind === 'message' ? '' : ` [${message.kind}]`;
  const reply = message.replyTo === undefined ? '' : ` · reply to ${message.replyTo}`;
  const body =
    typeof message.body === 'string' ? message.body : JSON.stringify(message.body, null, 2);
  return [
    `from ${message.from}${kind} ${verdict} · key ${message.fromFingerprint} (${pin}) · sent ${formatTime(message.sentAt)} · id ${message.id}${reply}`,
    body
      .split('\n')
      .map((line) => `${BODY_INDENT}${line}`)
      .join('\n'),
    '',
  ];
}

export function formatUnreadable(entry: UnreadableMessage): string {
  return `warning: message ${entry.id} skipped: ${entry.error} (${problemDescriptions[entry.error]})`;
}

/** How `receive` and `listen` print an entry: messages to stdout, unreadable ones as warnings. */
export function entryPrinter(
  io: Pick<CliIo, 'out' | 'err'>,
  json: boolean,
  reader: string,
): (entry: InboxEntry) => void {
  return (entry) => {
    if (json) io.out(JSON.stringify(entry));
    else if (isUnreadable(entry)) io.err(formatUnreadable(entry));
    else for (const line of formatReceived(entry, reader)) io.out(line);
  };
}
