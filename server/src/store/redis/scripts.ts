// The mailbox's Lua scripts: loaded from the `*.lua` files beside this module (copied into dist by
// the build), `--- @include "name"` lines expanded from ./includes, and registered on a client with
// `defineCommand`, so ioredis sends EVALSHA and falls back to EVAL once per connection.
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

type Arg = string | number;

/** The custom commands a client has after `defineMailboxScripts`; KEYS first, then ARGV. */
export interface MailboxScripts {
  ddAppend(
    inbox: string,
    agent: string,
    idem: string,
    notify: string,
    mailboxRate: string,
    senderRate: string,
    hook: string,
    ...argv: Arg[]
  ): Promise<unknown>;
  ddSetHook(agent: string, hook: string, ...argv: Arg[]): Promise<unknown>;
  ddHookDelivery(hook: string, ...argv: Arg[]): Promise<unknown>;
  ddPublishPrekeys(agent: string, prekeys: string, ...argv: Arg[]): Promise<unknown>;
  ddClaimPrekey(agent: string, prekeys: string): Promise<unknown>;
  ddTake(bucket: string, ...argv: Arg[]): Promise<unknown>;
  ddRead(inbox: string, ...argv: Arg[]): Promise<unknown>;
  ddCounts(inbox: string, agent: string, ...argv: Arg[]): Promise<unknown>;
  ddDelete(inbox: string, agent: string, ...argv: Arg[]): Promise<unknown>;
  ddTrim(inbox: string, agent: string, ...argv: Arg[]): Promise<unknown>;
  ddRegister(agent: string, ...argv: Arg[]): Promise<unknown>;
  ddUseNonce(agent: string, nonce: string, ...argv: Arg[]): Promise<unknown>;
  ddRotate(agent: string, rotations: string, prekeys: string, ...argv: Arg[]): Promise<unknown>;
}

/** Command name → script file stem; the number after the dash is the script's KEYS count. */
const SCRIPT_FILES: Record<keyof MailboxScripts, string> = {
  ddAppend: 'append-7',
  ddSetHook: 'set-hook-2',
  ddHookDelivery: 'hook-delivery-1',
  ddPublishPrekeys: 'publish-prekeys-2',
  ddClaimPrekey: 'claim-prekey-2',
  ddTake: 'take-1',
  ddRead: 'read-1',
  ddCounts: 'counts-2',
  ddDelete: 'delete-2',
  ddTrim: 'trim-2',
  ddRegister: 'register-1',
  ddUseNonce: 'use-nonce-2',
  ddRotate: 'rotate-3',
};

const INCLUDE_LINE = /^--- @include "([a-z0-9-]+)"$/gm;

function readScript(stem: string): string {
  return readFileSync(new URL(`./${stem}.lua`, import.meta.url), 'utf8');
}

/** Script source with its includes expanded (one level: includes do not include). */
function loadScript(stem: string): string {
  return readScript(stem).replace(INCLUDE_LINE, (_line, name: string) =>
    readScript(`includes/${name}`),
  );
}

function numberOfKeys(stem: string): number {
  const match = /-(\d+)$/.exec(stem);
  if (!match?.[1]) throw new Error(`script ${stem} must be named <name>-<numKeys>`);
  return Number(match[1]);
}

let loaded: { name: string; lua: string; numberOfKeys: number }[] | undefined;

function allScripts(): { name: string; lua: string; numberOfKeys: number }[] {
  loaded ??= Object.entries(SCRIPT_FILES).map(([name, stem]) => ({
    name,
    lua: loadScript(stem),
    numberOfKeys: numberOfKeys(stem),
  }));
  return loaded;
}

/** Registers every mailbox script on `client` (idempotent) and returns it typed with them. */
export function defineMailboxScripts<Client extends Redis | Cluster>(
  client: Client,
): Client & MailboxScripts {
  for (const script of allScripts()) {
    client.defineCommand(script.name, { lua: script.lua, numberOfKeys: script.numberOfKeys });
  }
  // defineCommand adds the methods at run time; ioredis cannot type them.
  return client as Client & MailboxScripts;
}
