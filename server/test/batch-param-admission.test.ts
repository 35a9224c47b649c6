// A batch is counted as tRPC will run it: `batch` read as tRPC reads query parameters, however
// often it repeats or however many parameters come before it, so no batch passes as one call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRelay, type TestRelay } from './support/relay-harness.js';

const CALLS = new Array(100).fill('info').join(',');

async function statuses(relay: TestRelay, query: string, times: number): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < times; i++) {
    const response = await fetch(`${relay.url}/trpc/${CALLS}?${query}`);
    await response.text();
    seen.push(response.status);
  }
  return seen;
}

describe('review: repeated ?batch=1 through Express', () => {
  let a: TestRelay;
  let b: TestRelay;
  beforeAll(async () => {
    const env = { RATE_REQUESTS_PER_SECOND: '1', RATE_REQUEST_BURST: '150' };
    [a, b] = await Promise.all([startTestRelay('embedded', env), startTestRelay('embedded', env)]);
  });
  afterAll(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  it('control: batches of 100 calls against a 150-call burst: the second is refused', async () => {
    // `x=1` keeps the procedure lane out, so tRPC's adapter behind Express serves it.
    expect(await statuses(a, 'batch=1&x=1', 2)).toEqual([200, 429]);
  });

  it('the same batches with batch=1 repeated: each is charged one token, so 10 pass', async () => {
    // Express's req.query.batch is ['1','1'] (not '1'): admission charges 1 call; tRPC runs 100.
    expect(await statuses(b, 'batch=1&batch=1&x=1', 10)).toEqual([
      200, 429, 429, 429, 429, 429, 429, 429, 429, 429,
    ]);
  });
});

describe('review: batch=1 past the 1000th query parameter', () => {
  let c: TestRelay;
  beforeAll(async () => {
    c = await startTestRelay('embedded', {
      RATE_REQUESTS_PER_SECOND: '1',
      RATE_REQUEST_BURST: '150',
    });
  });
  afterAll(async () => {
    await c.stop();
  });

  it('batches whose batch=1 Express never reads (querystring stops at 1000 keys) are charged 1 token', async () => {
    const filler = Array.from({ length: 1000 }, (_, i) => `p${i}=1`).join('&');
    expect(await statuses(c, `${filler}&batch=1`, 5)).toEqual([200, 429, 429, 429, 429]);
  });
});
