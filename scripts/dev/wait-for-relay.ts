// `npm run dev` starts the relay and the MCP server side by side; the MCP server registers its
// agent with the relay as it starts, so it waits here until the relay at DEADDROP_SERVER_URL answers
// /readyz. Bounded: a relay not ready within a minute (a first build, a Redis still starting) ends
// the wait with exit 1 and the reason, rather than an MCP server that failed on its first call.
const WAIT_MS = 60_000;
const POLL_INTERVAL_MS = 250;
const PROBE_TIMEOUT_MS = 2_000;

function relayUrl(raw: string | undefined): URL {
  const url = new URL(raw ?? 'http://127.0.0.1:8000');
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`DEADDROP_SERVER_URL must be an http(s) URL, not ${url.protocol}`);
  return url;
}

/** Why the relay is not ready yet, or undefined once /readyz answers 200. */
async function notReadyBecause(readyz: URL): Promise<string | undefined> {
  try {
    const response = await fetch(readyz, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await response.body?.cancel();
    return response.status === 200 ? undefined : `/readyz answered ${String(response.status)}`;
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    return cause instanceof Error ? cause.message : String(cause);
  }
}

async function main(): Promise<void> {
  const url = relayUrl(process.env.DEADDROP_SERVER_URL);
  const deadline = Date.now() + WAIT_MS;
  // Relative to the URL's path: a relay behind a path prefix has /readyz under it.
  const readyz = new URL('readyz', url.href.endsWith('/') ? url : `${url.href}/`);
  let reason = await notReadyBecause(readyz);
  if (reason === undefined) return;
  console.error(`waiting for the relay at ${url.origin} (${reason})`);
  while (reason !== undefined) {
    if (Date.now() >= deadline) {
      console.error(`the relay at ${url.origin} was not ready in time: ${reason}`);
      process.exit(1);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    reason = await notReadyBecause(readyz);
  }
  console.error(`the relay at ${url.origin} is ready`);
}

try {
  await main();
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
