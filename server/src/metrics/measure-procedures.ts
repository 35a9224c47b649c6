// The one tRPC middleware every procedure starts with: counts each call by outcome and times it.
// Every transport (tRPC's HTTP and WebSocket adapters, the procedure lane's caller) runs it; the SSE
// inbox, served beside tRPC, records its calls itself.
import { t } from '../trpc.js';
import type { RelayMetrics } from './relay-metrics.js';

export function measureProcedures(metrics: RelayMetrics) {
  return t.middleware(async ({ path, next }) => {
    const started = performance.now();
    // Outermost, so the code is the one the client sees (a store outage already mapped to 503).
    const result = await next();
    metrics.procedureCalled(
      path,
      result.ok ? 'OK' : result.error.code,
      (performance.now() - started) / 1000,
    );
    return result;
  });
}
