// Process plumbing for `npm run bench:live`: the fd limit (re-running under prlimit when it must be
// raised), server child processes that never outlive the benchmark, and readings from /proc.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { getJson } from './bench-live-clients.mjs';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const HOST = '127.0.0.1';

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------- fd limit

/** Soft and hard RLIMIT_NOFILE of a process, from /proc. */
export function nofileLimit(pid = 'self') {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((text) => text.startsWith('Max open files'));
  const [soft, hard] = line
    .trim()
    .split(/\s+/)
    .slice(3, 5)
    .map((value) => (value === 'unlimited' ? Infinity : Number(value)));
  return { soft, hard };
}

/**
 * Node cannot call setrlimit, so a process whose soft fd limit is below the hard one re-runs
 * `script` under `prlimit` (or `ulimit -n` in bash); server children inherit the raised limit.
 * (Node raises the soft limit itself at startup on most Unix builds, so this is usually a no-op;
 * the caller checks rather than assumes.) Never settles: this process just waits for the child.
 */
export function reexecWithRaisedLimit(script, hard) {
  const value = hard === Infinity ? 'unlimited' : String(hard);
  const argv = [process.execPath, ...process.execArgv, script, ...process.argv.slice(2)];
  const [command, args] =
    spawnSync('prlimit', ['--version']).status === 0
      ? ['prlimit', [`--nofile=${value}:${value}`, ...argv]]
      : ['bash', ['-c', `ulimit -n ${value} && exec "$@"`, 'bash', ...argv]];
  const child = spawn(command, args, {
    stdio: 'inherit',
    env: { ...process.env, BENCH_LIVE_REEXEC: '1' },
  });
  // Ctrl-C reaches the whole foreground group: the child tears down and exits by itself.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 0 : 1)));
  return new Promise(() => undefined);
}

// ---------------------------------------------------------------- teardown

const children = new Set();
const cleanups = [];
let teardownRun;

/** Registers a cleanup step and returns it as a function that runs it now (once). */
export function onTeardown(step) {
  cleanups.push(step);
  return async () => {
    const index = cleanups.indexOf(step);
    if (index >= 0) cleanups.splice(index, 1);
    await step();
  };
}

/** Runs every pending cleanup step, last registered first, each bounded to 10 s. */
export function teardown() {
  teardownRun ??= (async () => {
    while (cleanups.length > 0) {
      const step = cleanups.pop();
      try {
        await Promise.race([step(), sleep(10_000)]);
      } catch (error) {
        console.error(`teardown step failed: ${error.message}`);
      }
    }
  })();
  return teardownRun;
}

// Whatever happens (even an uncaught error), no child outlives the benchmark.
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

// ---------------------------------------------------------------- server children

/** A port the OS just handed out on loopback, released before the server binds it. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Keeps the tail of a child's output (for a startup failure) and counts its JSON log lines at
 * warn, error or fatal level by message into `counts` (which a caller may share across restarts).
 */
export function captureOutput(child, counts = {}) {
  const tail = [];
  const onLine = (line) => {
    if (line.trim() === '') return;
    tail.push(line);
    if (tail.length > 20) tail.shift();
    const level = /"level":"(warn|error|fatal)"/.exec(line)?.[1];
    if (level !== undefined) {
      const message = `${level}: ${/"msg":"([^"]*)"/.exec(line)?.[1] ?? '?'}`;
      counts[message] = (counts[message] ?? 0) + 1;
    }
  };
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      lines.forEach(onLine);
    });
  }
  return { tail: () => tail.join('\n'), counts };
}

/**
 * Rate limits a benchmark's relay runs with: every check still runs (and costs what it costs), but
 * one load generator on one address never reaches them.
 */
export const BENCH_RATE_LIMITS = Object.fromEntries(
  [
    'RATE_REQUESTS_PER_SECOND',
    'RATE_REQUEST_BURST',
    'RATE_SUBSCRIPTIONS_PER_MINUTE',
    'RATE_MAILBOX_MESSAGES_PER_MINUTE',
    'RATE_SENDER_MESSAGES_PER_MINUTE',
    'RATE_REGISTRATIONS_PER_MINUTE',
    'RATE_LIVE_CONNECTIONS_PER_ADDRESS',
  ].map((name) => [name, '1000000000']),
);

/** The environment minus variables that would change which relay or store a child gets. */
export function cleanEnv() {
  const relayVariable =
    /^(PORT|HOST|REDIS_|DEADDROP_|MAX_|MESSAGE_TTL|STREAM_MAX|AUTH_WINDOW|WS_MAX|WS_AUTH|RATE_|TRUST_PROXY|NODE_OPTIONS$)/;
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !relayVariable.test(name)),
  );
}

/** Spawns `node ...args` on a free loopback port and waits until `readyPath` answers 200. */
export async function spawnServer({ args, env, readyPath, cwd = ROOT }) {
  const port = await freePort();
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...env, PORT: String(port), HOST },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  exited.then(() => children.delete(child));
  const output = captureOutput(child);
  const stop = onTeardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited at startup:\n${output.tail()}`);
    if ((await getJson({ host: HOST, port, path: readyPath })) !== null) break;
    if (Date.now() > deadline) throw new Error(`server not ready in 20 s:\n${output.tail()}`);
    await sleep(100);
  }
  return { pid: child.pid, host: HOST, port, output, stop };
}

// ---------------------------------------------------------------- /proc readings

export function rssKB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)[1]);
}

export function fdCount(pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

/** CPU time a process has used in user and in system (kernel) mode, in ms. */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [user, system] = [fields[11], fields[12]].map(
    (ticks) => (Number(ticks) * 1000) / CLOCK_TICKS,
  );
  return { user, system, total: user + system };
}
