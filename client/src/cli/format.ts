// Renderings for the CLI, human-readable or one JSON object per line (`--json`). Body lines are
// indented, so no body can pass for a header line; the CLI's output escapes control characters
// (terminal-text.ts).
import type { InboxEntry, ReceivedMessage, UnreadableMessage } from '../inbox-entry.js';
import { isUnreadable, problemDescriptions } from '../inbox-entry.js';
import { describePinSource } from '../pins.js';
import type { ReceiptEvent } from '../receipts/receipt-event.js';
import type { CliIo } from './io.js';
import { safeFilename, saveNewFile } from './save-file.js';

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
 * agent reading: a note from itself was checked against its own key, not a pin. A file message's
 * body is where it was saved (`savedPath`), never its bytes.
 */
export function formatReceived(
  message: ReceivedMessage,
  reader?: string,
  savedPath?: string,
): string[] {
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
  const body =
    message.contentType !== undefined
      ? `saved to ${savedPath ?? '(not saved)'} (${formatBytes(message.data?.length ?? 0)})`
      : typeof message.body === 'string'
        ? message.body
        : JSON.stringify(message.body, null, 2);
  return [
    `from ${message.from}${kind} ${verdict} · key ${message.fromFingerprint} (${pin}) · sent ${formatTime(message.sentAt)} · id ${message.id}${threadFields(message)}`,
    body
      .split('\n')
      .map((line) => `${BODY_INDENT}${line}`)
      .join('\n'),
    '',
  ];
}

/** The v1.1 fields a header shows when present: file, reply, thread, group, receipt asked, forward secrecy. */
function threadFields(message: ReceivedMessage): string {
  const fields: string[] = [];
  if (message.contentType !== undefined) {
    const name = message.filename === undefined ? '' : ` "${message.filename}"`;
    fields.push(`file${name} (${message.contentType})`);
  }
  if (message.replyTo !== undefined) fields.push(`reply to ${message.replyTo}`);
  // A thread is worth naming once it is not just this message answering its first.
  if (message.threadId !== undefined && message.threadId !== message.replyTo) {
    fields.push(`thread ${message.threadId}`);
  }
  if (message.group !== undefined) {
    fields.push(`group ${message.group.id} (${message.group.members.join(', ')})`);
  }
  if (message.receiptRequested) fields.push('receipt requested');
  // Sealed to a one-time prekey whose secret is now deleted (PROTOCOL §10).
  if (message.forwardSecret) fields.push('forward secret');
  return fields.map((field) => ` · ${field}`).join('');
}

/** One line per message a receipt acknowledges: `delivered ✓ <uid> to <agent>`. */
function formatReceipt(event: ReceiptEvent): string[] {
  return event.of.map((uid) =>
    event.verified
      ? `delivered ✓ ${uid} to ${event.from}`
      : `delivered? ${uid} to ${event.from}: receipt ✗ NOT VERIFIED (${event.reason}: ${problemDescriptions[event.reason]})`,
  );
}

export function formatUnreadable(entry: UnreadableMessage): string {
  return `warning: message ${entry.id} skipped: ${entry.error} (${problemDescriptions[entry.error]})`;
}

export interface PrintOptions {
  readonly json: boolean;
  /** The agent reading. */
  readonly reader: string;
  /** Where file messages are saved. */
  readonly saveDir: string;
}

/**
 * How `receive` and `listen` print an entry: messages to stdout, unreadable ones as warnings; a
 * file message is saved first (safe name, never overwriting) and printed with its path. In JSON
 * the path is `savedPath`, and neither the base64 `body` nor `data` is printed.
 */
export function entryPrinter(
  io: Pick<CliIo, 'out' | 'err'>,
  options: PrintOptions,
): (entry: InboxEntry) => Promise<void> {
  return async (entry) => {
    if (isUnreadable(entry)) {
      if (options.json) io.out(JSON.stringify(entry));
      else io.err(formatUnreadable(entry));
      return;
    }
    const savedPath =
      entry.contentType === undefined
        ? undefined
        : await saveNewFile(
            options.saveDir,
            safeFilename(entry.filename, entry.uid),
            entry.data ?? new Uint8Array(),
          );
    if (!options.json) {
      for (const line of formatReceived(entry, options.reader, savedPath)) io.out(line);
      return;
    }
    if (savedPath === undefined) {
      io.out(JSON.stringify(entry));
      return;
    }
    const fields = Object.entries(entry).filter(([name]) => name !== 'body' && name !== 'data');
    io.out(JSON.stringify({ ...Object.fromEntries(fields), savedPath }));
  };
}

/** How `receive` and `listen` print a receipt event (`kind: "receipt"` in JSON). */
export function receiptPrinter(
  io: Pick<CliIo, 'out'>,
  json: boolean,
): (event: ReceiptEvent) => void {
  return (event) => {
    if (json) io.out(JSON.stringify({ ...event, kind: 'receipt' }));
    else for (const line of formatReceipt(event)) io.out(line);
  };
}
