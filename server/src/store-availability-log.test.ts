import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from './log.js';
import { logStoreAvailability } from './store-availability-log.js';

describe('store availability log lines', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('logs one outage line per 10 s however often the store flaps, and each recovery after it', () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    const lines: [string, string, unknown][] = [];
    const log: Logger = {
      debug: (msg, fields) => lines.push(['debug', msg, fields]),
      info: (msg, fields) => lines.push(['info', msg, fields]),
      warn: (msg, fields) => lines.push(['warn', msg, fields]),
      error: (msg, fields) => lines.push(['error', msg, fields]),
    };
    const report = logStoreAvailability(log, 'redis');
    for (let i = 0; i < 5; i++) {
      report(false);
      report(true);
      vi.advanceTimersByTime(300);
    }
    vi.advanceTimersByTime(10_000);
    report(false);
    expect(lines.map(([level, , fields]) => [level, fields])).toEqual([
      ['warn', { store: 'redis' }],
      ['info', { store: 'redis' }],
      ['warn', { store: 'redis', outagesSinceLastLine: 4 }],
    ]);
  });
});
