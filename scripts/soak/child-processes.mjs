// Child-process plumbing the soak needs beyond bench-live's: a port chosen once and reused across
// restarts, waiting for an exit with a bound, and a tally of a child's warning and error log lines.
import { createServer } from 'node:net';
import { HOST, sleep } from '../bench-live-processes.mjs';

export { captureOutput } from '../bench-live-processes.mjs';

const children = new Set();

// Whatever happens (even an uncaught error), no redis-server or relay outlives the soak.
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Keeps `child` in the set killed at exit until it has exited. */
export function trackChild(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function hasExited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves once `child` has exited, or with false after `ms`. */
export function waitForExit(child, ms) {
  if (hasExited(child)) return Promise.resolve(true);
  return Promise.race([
    new Promise((resolve) => child.once('exit', () => resolve(true))),
    sleep(ms).then(() => false),
  ]);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
export async function stopChild(child, graceMs = 5_000) {
  if (hasExited(child)) return;
  child.kill('SIGTERM');
  if (await waitForExit(child, graceMs)) return;
  child.kill('SIGKILL');
  await waitForExit(child, graceMs);
}

/** A port the OS just handed out on loopback, released before the server binds it. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
