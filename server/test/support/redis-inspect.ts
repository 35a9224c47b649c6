// Raw Redis access for the store tests: dumping and deleting a prefix, finding connections.
import type { Redis } from 'ioredis';

async function scanAll(admin: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  return keys;
}

/** Every key under `prefix` with its value, as text. */
export async function dumpKeys(admin: Redis, prefix: string): Promise<string> {
  const parts: string[] = [];
  for (const key of await scanAll(admin, prefix)) {
    const type = await admin.type(key);
    parts.push(`${key} (${type})`);
    if (type === 'stream') parts.push(JSON.stringify(await admin.xrange(key, '-', '+')));
    else if (type === 'hash') parts.push(JSON.stringify(await admin.hgetall(key)));
    else if (type === 'string') parts.push((await admin.get(key)) ?? '');
  }
  return parts.join('\n');
}

export async function deleteKeys(admin: Redis, prefix: string): Promise<void> {
  const keys = await scanAll(admin, prefix);
  for (let i = 0; i < keys.length; i += 500) await admin.unlink(...keys.slice(i, i + 500));
}

/** Ids of the connections named `name` (optionally only those in pub/sub mode). */
export async function clientIds(admin: Redis, name: string, type?: 'pubsub'): Promise<string[]> {
  const list = String(await admin.call('CLIENT', 'LIST', ...(type ? ['TYPE', type] : [])));
  return list
    .split('\n')
    .filter((line) => line.split(' ').includes(`name=${name}`))
    .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1] ?? '');
}

/** Polls `read` until `done` holds (at most `timeoutMs`), returning the last value. */
export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 2_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await read();
  }
  return value;
}
