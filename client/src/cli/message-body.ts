// The one body `send` and `reply` take: the text argument, `-` (text on stdin), `--file <path>`
// (`--file -`: bytes on stdin) or `--json <value>`. Everything is checked before anything is sent:
// text must be UTF-8 (never silently mangled), JSON parses within the nesting bound, and a file is
// measured against what fits in one message before it is read.
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  MAX_BODY_DEPTH,
  MAX_MESSAGE_BYTES_CEILING,
  contentTypeSchema,
  filenameSchema,
  isJsonValue,
  jsonTextDepthWithin,
  type JsonValue,
} from '@deaddrop/contract';
import type { FileContent, MessageLimits } from '../client-types.js';
import { DeadDropError } from '../errors.js';
import type { CommandContext } from './command.js';
import { DEFAULT_FILE_CONTENT_TYPE, contentTypeForFile } from '../content-types.js';
import { UsageError } from './parse-args.js';

export type CliBody =
  | { readonly kind: 'message'; readonly message: JsonValue }
  | { readonly kind: 'file'; readonly file: FileContent };

/** Where a body comes from, as the command line gave it, checked for exactly one source. */
export type BodySource =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'stdin-text' }
  | { readonly kind: 'json'; readonly value: JsonValue }
  | { readonly kind: 'file'; readonly path: string; readonly type: string | undefined };

const ONE_BODY =
  'a message, - (text on stdin), --file <path> (--file -: bytes on stdin) or --json <value>';

export function bodySource(context: CommandContext, text: string | undefined): BodySource {
  const { file, type, jsonBody } = context.values;
  const given = [text, file, jsonBody].filter((source) => source !== undefined).length;
  if (given !== 1) {
    throw new UsageError(
      given === 0
        ? `nothing to send: give ${ONE_BODY}`
        : `give exactly one body, not ${given}: ${ONE_BODY}`,
    );
  }
  if (type !== undefined && file === undefined) {
    throw new UsageError('--type goes with --file (the type of the file sent)');
  }
  if (file !== undefined) {
    if (file === '') throw new UsageError('--file needs a path (or - for stdin)');
    if (type !== undefined) {
      const checked = contentTypeSchema.safeParse(type);
      if (!checked.success) throw new UsageError(`--type "${type}": ${firstIssue(checked.error)}`);
    }
    return { kind: 'file', path: file, type };
  }
  if (jsonBody !== undefined) return { kind: 'json', value: parseJsonBody(jsonBody) };
  // The MCP tool refuses an empty message too (its schema): an empty send is a slip, such as an
  // unset shell variable, and would still wake the recipient.
  if (text === '') {
    throw new UsageError(
      'the message is empty; nothing sent (write the text to send, or - to read it from stdin)',
    );
  }
  return text === '-' ? { kind: 'stdin-text' } : { kind: 'text', text: text ?? '' };
}

/**
 * Reads the body. `limits` is asked only for a file: what fits in one message to the recipients
 * (the smallest, for several). Text and JSON too large are refused by the SDK, in plaintext terms.
 */
export async function readBody(
  source: BodySource,
  context: CommandContext,
  limits: () => Promise<MessageLimits>,
): Promise<CliBody> {
  switch (source.kind) {
    case 'text':
      return { kind: 'message', message: source.text };
    case 'json':
      return { kind: 'message', message: source.value };
    case 'stdin-text':
      return { kind: 'message', message: await readStdinText(context) };
    case 'file':
      return { kind: 'file', file: await readFileBody(source, context, await limits()) };
  }
}

function parseJsonBody(text: string): JsonValue {
  // Measured before parsing: a deep document is refused before anything is built from it.
  if (!jsonTextDepthWithin(text, MAX_BODY_DEPTH)) {
    throw new UsageError(`--json nests deeper than ${MAX_BODY_DEPTH} levels; nothing sent`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `--json is not valid JSON (${error instanceof Error ? error.message : String(error)}); nothing sent`,
    );
  }
  if (!isJsonValue(value, MAX_BODY_DEPTH)) {
    throw new UsageError('--json is not a plain JSON value; nothing sent');
  }
  return value;
}

async function readStdinText(context: CommandContext): Promise<string> {
  // Text takes at least a byte of the sealed message per byte, and no relay takes more than the
  // ceiling: read that far without asking the relay (so an empty stdin is refused offline), and
  // let the SDK refuse what this relay cannot hold, in plaintext terms.
  const bytes = await context.io.readStdin(MAX_MESSAGE_BYTES_CEILING);
  if (bytes.length > MAX_MESSAGE_BYTES_CEILING) {
    throw new DeadDropError(
      'MESSAGE_TOO_LARGE',
      `message too large: stdin holds more than ${MAX_MESSAGE_BYTES_CEILING} bytes, more than any relay takes; nothing sent`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(
      'stdin is not valid UTF-8 text; nothing sent (to send bytes as they are, use --file - [--type <mime>])',
    );
  }
  const message = text.replace(/\r?\n$/, '');
  if (message === '') throw new UsageError('the message on stdin is empty; nothing sent');
  return message;
}

async function readFileBody(
  source: Extract<BodySource, { kind: 'file' }>,
  context: CommandContext,
  limits: MessageLimits,
): Promise<FileContent> {
  if (source.path === '-') {
    const bytes = await context.io.readStdin(limits.fileBytes);
    if (bytes.length > limits.fileBytes) throw tooLargeFile(limits, 'stdin holds more');
    return { bytes, contentType: source.type ?? DEFAULT_FILE_CONTENT_TYPE };
  }
  const filename = basename(source.path);
  const named = filenameSchema.safeParse(filename);
  if (!named.success) {
    throw new UsageError(
      `--file ${source.path}: its name cannot travel with it (${firstIssue(named.error)})`,
    );
  }
  const handle = await openFile(source.path);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new UsageError(`--file ${source.path} is not a regular file`);
    // Measured before it is read: a file of gigabytes is refused without loading it.
    if (stat.size > limits.fileBytes) throw tooLargeFile(limits, `it has ${stat.size}`);
    const bytes = await handle.readFile();
    // It may have grown since stat.
    if (bytes.length > limits.fileBytes) throw tooLargeFile(limits, `it has ${bytes.length}`);
    return { bytes, contentType: source.type ?? contentTypeForFile(filename), filename };
  } finally {
    await handle.close();
  }
}

async function openFile(path: string) {
  try {
    return await open(path, 'r');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'error';
    throw new UsageError(`--file ${path}: cannot open it (${code})`);
  }
}

function tooLargeFile(limits: MessageLimits, actual: string): DeadDropError {
  return new DeadDropError(
    'MESSAGE_TOO_LARGE',
    `file too large: at most ${limits.fileBytes} bytes of file data fit in one message on this relay (${actual}); nothing sent`,
  );
}

function firstIssue(error: { readonly issues: readonly { readonly message: string }[] }): string {
  return error.issues[0]?.message ?? 'invalid';
}
