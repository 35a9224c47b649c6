// `npm run demo`: two agents exchange sealed messages through a relay this script starts on a free
// loopback port with a throw-away embedded store. Everything is deleted at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeadDropClient, createIdentity } from '@deaddrop/client';
import { BUILT_RELAY_ENTRY } from './load-support/built-relay.js';
import { HOST, freePort } from './load-support/child-processes.js';

/** The built relay, its output shown but for the line it is waited for on stdout. */
async function startRelay(dataDir: string): Promise<{ relay: ChildProcess; url: string }> {
  const port = await freePort();
  const relay = spawn(process.execPath, [BUILT_RELAY_ENTRY], {
    env: {
      ...process.env,
      REDIS_URL: '',
      PORT: String(port),
      HOST,
      DEADDROP_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    relay.once('exit', (code) => {
      reject(new Error(`relay exited with ${code ?? 'a signal'}`));
    });
    relay.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('relay listening')) resolve();
    });
  });
  return { relay, url: `http://${HOST}:${port}` };
}

function describeEntry(
  name: string,
  entry: Awaited<ReturnType<DeadDropClient['pollAndDecrypt']>>[number],
): string {
  return 'error' in entry
    ? `${name} could not open ${entry.id}: ${entry.error}`
    : `${`${name} got`.padEnd(14)} ${JSON.stringify(entry.body)} from ${entry.from} (verified: ${String(entry.verified)})`;
}

const scratch = await mkdtemp(join(tmpdir(), 'deaddrop-demo-'));
const { relay, url } = await startRelay(join(scratch, 'relay-data'));
try {
  console.log(`relay on ${url}\n`);
  const open = async (name: string): Promise<DeadDropClient> => {
    const identity = await createIdentity(name, { home: join(scratch, name), relayUrl: url });
    const client = new DeadDropClient({ identity });
    const registered = await client.register();
    console.log(
      `${name} registered  key ${registered.agentKey.slice(0, 24)}…  fingerprint ${registered.fingerprint}`,
    );
    return client;
  };
  const alice = await open('alice');
  const bob = await open('bob');

  const sent = await alice.sendMessage({
    to: 'bob',
    message: { task: 'summarise', url: 'https://example.org/report' },
  });
  console.log(`\nalice → bob   stored as ${sent.id}, recipient key pinned from ${sent.pinSource}`);

  for (const entry of await bob.pollAndDecrypt({ timeoutMs: 5_000 })) {
    console.log(describeEntry('bob', entry));
  }

  await bob.sendMessage({ to: 'alice', message: 'On it — summary in five minutes.' });
  for (const entry of await alice.pollAndDecrypt({ timeoutMs: 5_000 })) {
    console.log(describeEntry('alice', entry));
  }

  const stats = await bob.stats();
  console.log(
    `\nbob's mailbox: ${stats.count} message(s), ${stats.bytes} bytes of ciphertext — the relay never saw the text.`,
  );
} finally {
  relay.kill('SIGTERM');
  await new Promise((resolve) => relay.once('exit', resolve));
  await rm(scratch, { recursive: true, force: true });
}
