#!/usr/bin/env node
// `npm run demo`: two agents exchange sealed messages through a relay this script starts on a free
// loopback port with a throw-away embedded store. Everything is deleted at the end.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeadDropClient, createIdentity } from '@deaddrop/client';

const root = fileURLToPath(new URL('..', import.meta.url));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startRelay(dataDir) {
  const port = await freePort();
  const relay = spawn(process.execPath, [join(root, 'server/dist/main.js')], {
    env: {
      ...process.env,
      REDIS_URL: '',
      PORT: String(port),
      HOST: '127.0.0.1',
      DEADDROP_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    relay.once('exit', (code) => reject(new Error(`relay exited with ${code}`)));
    relay.stdout.on('data', (chunk) => {
      if (chunk.toString().includes('relay listening')) resolve();
    });
  });
  return { relay, url: `http://127.0.0.1:${port}` };
}

const scratch = await mkdtemp(join(tmpdir(), 'deaddrop-demo-'));
const { relay, url } = await startRelay(join(scratch, 'relay-data'));
try {
  console.log(`relay on ${url}\n`);
  const agents = {};
  for (const name of ['alice', 'bob']) {
    const identity = await createIdentity(name, { home: join(scratch, name), relayUrl: url });
    agents[name] = new DeadDropClient({ identity });
    const registered = await agents[name].register();
    console.log(
      `${name} registered  key ${registered.agentKey.slice(0, 24)}…  fingerprint ${registered.fingerprint}`,
    );
  }
  const { alice, bob } = agents;

  const sent = await alice.sendMessage({
    to: 'bob',
    message: { task: 'summarise', url: 'https://example.org/report' },
  });
  console.log(`\nalice → bob   stored as ${sent.id}, recipient key pinned from ${sent.pinSource}`);

  for (const entry of await bob.pollAndDecrypt({ timeoutMs: 5_000 })) {
    if ('error' in entry) console.log(`bob could not open ${entry.id}: ${entry.error}`);
    else
      console.log(
        `bob got        ${JSON.stringify(entry.body)} from ${entry.from} (verified: ${entry.verified})`,
      );
  }

  await bob.sendMessage({ to: 'alice', message: 'On it — summary in five minutes.' });
  for (const entry of await alice.pollAndDecrypt({ timeoutMs: 5_000 })) {
    if ('error' in entry) console.log(`alice could not open ${entry.id}: ${entry.error}`);
    else
      console.log(
        `alice got      ${JSON.stringify(entry.body)} from ${entry.from} (verified: ${entry.verified})`,
      );
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
