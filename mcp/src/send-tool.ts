// send_message: one recipient or a group, a JSON body or a file from this machine, optionally as a
// reply to a message received earlier. Input the schema cannot bound (JSON depth, which of message
// and file_path) is checked here, each refusal a sentence for the model.
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  contentTypeForFile,
  type DeadDropClient,
  type FileContent,
  type GroupSent,
  type ReceivedSummary,
  type SentMessage,
} from '@deaddrop/client';
import { MAX_BODY_DEPTH, isJsonValue, type JsonValue } from '@deaddrop/contract';
import { basename } from 'node:path';
import type { AgentContext } from './agent-context.js';
import { ToolFailure, describeFailure } from './tool-failure.js';
import type { ToolAnswer, ToolInput } from './tool-handlers.js';

type SendArgs = ToolInput<'send_message'>;
type Body = { readonly message: JsonValue } | FileContent;

/** Where the bytes of the file go while it is read: at most this many per read. */
const READ_CHUNK_BYTES = 1 << 20;

export async function sendMessageTool(
  args: SendArgs,
  agent: AgentContext,
): Promise<ToolAnswer<'send_message'>> {
  const { client } = agent;
  const to = typeof args.to_agent === 'string' ? args.to_agent : [...args.to_agent];
  if (typeof to !== 'string' && args.recipient_public_key !== undefined)
    throw new ToolFailure('recipient_public_key is for one recipient; give to_agent as one id.');
  const target = args.reply_to === undefined ? undefined : await replyTarget(client, args.reply_to);
  if (target !== undefined) checkReplyRecipients(target, to, client.agentId);
  const body = await bodyOf(args, client, typeof to === 'string' ? [to] : to);
  const options = {
    receipt: args.request_receipt,
    recipientKey: args.recipient_public_key,
  };
  if (typeof to === 'string') {
    const sent =
      target === undefined
        ? await client.sendMessage({ to, ...options, ...body })
        : await client.reply(target, 'bytes' in body ? body : body.message, options);
    return single(sent);
  }
  const sent =
    target === undefined
      ? await client.sendMessage({ to, receipt: args.request_receipt, ...body })
      : await client.replyAll(target, 'bytes' in body ? body : body.message, {
          receipt: args.request_receipt,
        });
  return group(sent);
}

async function replyTarget(client: DeadDropClient, id: string): Promise<ReceivedSummary> {
  const found = await client.findReceived(id);
  if (found === undefined)
    throw new ToolFailure(
      `reply_to: no message "${id}" among those received lately (the last 256); give a message_id that receive_messages or wait_for_message reported.`,
    );
  return found;
}

/** A reply goes to the sender, a reply to all to the whole group: to_agent must say which. */
function checkReplyRecipients(
  target: ReceivedSummary,
  to: string | readonly string[],
  self: string,
): void {
  if (typeof to === 'string') {
    if (to !== target.from)
      throw new ToolFailure(
        `reply_to ${target.id} came from "${target.from}": a reply goes to its sender (to_agent "${target.from}"), or to its whole group (to_agent a list); to write to someone else, leave out reply_to.`,
      );
    return;
  }
  const group = target.group?.members.includes(self) === true ? target.group.members : undefined;
  const everyone = (group ?? [target.from]).filter((member) => member !== self);
  const same = everyone.length === to.length && everyone.every((member) => to.includes(member));
  if (!same)
    throw new ToolFailure(
      `reply_to ${target.id} with a list answers everyone in its group: to_agent ${JSON.stringify(everyone)}.`,
    );
}

async function bodyOf(
  args: SendArgs,
  client: DeadDropClient,
  recipients: readonly string[],
): Promise<Body> {
  const { message } = args;
  if (args.file_path !== undefined) {
    if (message !== undefined) throw new ToolFailure('Give either message or file_path, not both.');
    return readFileBody(args.file_path, client, recipients);
  }
  if (message === undefined) throw new ToolFailure('Give message (any JSON value) or file_path.');
  // Worded as the CLI's refusal: an empty message is refused by both, in the same terms.
  if (message === '')
    throw new ToolFailure('the message is empty; nothing sent (write the text to send)');
  if (!isJsonValue(message, MAX_BODY_DEPTH))
    throw new ToolFailure(`message nests deeper than ${MAX_BODY_DEPTH} levels; flatten it.`);
  return { message };
}

/** The file at `path` (relative to this server's folder), refused before reading if too large. */
async function readFileBody(
  path: string,
  client: DeadDropClient,
  recipients: readonly string[],
): Promise<FileContent> {
  const absolute = resolve(process.cwd(), path);
  let limit = Number.POSITIVE_INFINITY;
  for (const to of recipients) limit = Math.min(limit, (await client.limits(to)).fileBytes);
  const tooLarge = (size: number): ToolFailure =>
    new ToolFailure(
      `"${absolute}" is ${size} bytes; at most ${limit} bytes of file data fit in one message on this relay. Nothing sent.`,
    );
  const info = await stat(absolute).catch((error: unknown) => {
    throw new ToolFailure(`file_path "${absolute}" cannot be read: ${codeOf(error)}.`);
  });
  if (!info.isFile()) throw new ToolFailure(`file_path "${absolute}" is not a regular file.`);
  if (info.size > limit) throw tooLarge(info.size);
  const file = await open(absolute, 'r').catch((error: unknown) => {
    throw new ToolFailure(`file_path "${absolute}" cannot be read: ${codeOf(error)}.`);
  });
  try {
    // Read to the limit plus one byte: a file that grew since stat is refused, not truncated.
    const buffer = Buffer.alloc(Math.min(info.size, limit) + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await file.read(
        buffer,
        filled,
        Math.min(READ_CHUNK_BYTES, buffer.length - filled),
      );
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > limit) throw tooLarge(filled);
    return {
      bytes: new Uint8Array(buffer.subarray(0, filled)),
      contentType: contentTypeForFile(absolute),
      filename: basename(absolute),
    };
  } finally {
    await file.close();
  }
}

function codeOf(error: unknown): string {
  return error instanceof Error && 'code' in error && typeof error.code === 'string'
    ? error.code
    : 'unknown error';
}

function single(sent: SentMessage): ToolAnswer<'send_message'> {
  return {
    result: {
      message_id: sent.id,
      uid: sent.uid,
      to_agent: sent.to,
      recipient_fingerprint: sent.recipientFingerprint,
      key_source: sent.pinSource,
      first_contact: sent.pinChange === 'new',
      bytes: sent.bytes,
      expires_at: sent.expiresAt,
      duplicate: sent.duplicate,
      forward_secret: sent.forwardSecret,
    },
    summary: `Sent to ${sent.to} (message ${sent.id}, key ${sent.recipientFingerprint}${sent.pinChange === 'new' ? ', first contact: key pinned' : ''}${sent.forwardSecret ? ', forward secret' : ', not forward secret'}).`,
  };
}

function group(sent: GroupSent): ToolAnswer<'send_message'> {
  const results = sent.results.map((result) =>
    result.ok
      ? {
          to_agent: result.to,
          ok: true,
          message_id: result.sent.id,
          uid: result.sent.uid,
          forward_secret: result.sent.forwardSecret,
        }
      : {
          to_agent: result.to,
          ok: false,
          error: describeFailure(result.error) ?? result.error.message,
        },
  );
  const failed = results.filter((result) => !result.ok);
  return {
    result: { group_id: sent.groupId, results },
    summary: `Sent to ${results.length - failed.length} of ${results.length} (group ${sent.groupId})${failed.length === 0 ? '' : `; NOT sent to ${failed.map((result) => `${result.to_agent} (${result.error ?? ''})`).join(', ')}`}.`,
  };
}
