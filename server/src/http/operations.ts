// The operator's endpoints beside /healthz: readiness (the store answers and the relay is not
// closing) for load balancers, and Prometheus metrics, behind a bearer token when one is configured.
import { Router, type Request } from 'express';
import { createApiKeyCheck } from '../auth/api-key.js';
import type { RelayMetrics } from '../metrics/relay-metrics.js';
import type { MailboxStore } from '../store/mailbox-store.js';

/** A store that takes longer than this to answer a ping is as good as down for a probe. */
const READY_PING_TIMEOUT_MS = 1_000;

export interface OperationsOptions {
  readonly store: MailboxStore;
  readonly metrics: RelayMetrics;
  /** Required as `authorization: Bearer <token>` on /metrics; undefined leaves it open. */
  readonly metricsToken: string | undefined;
}

export interface OperationsRoutes {
  readonly router: Router;
  /** From now on /readyz answers 503, so balancers stop sending before the relay closes. */
  readonly startDraining: () => void;
}

/** Resolves true when the store answers a ping in time, false when it fails or takes too long. */
function storeAnswers(store: MailboxStore): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      resolve(false);
    }, READY_PING_TIMEOUT_MS);
    store.ping().then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });
}

function bearerToken(req: Request): string | undefined {
  const value = req.headers.authorization;
  return value?.startsWith('Bearer ') === true ? value.slice('Bearer '.length) : undefined;
}

export function createOperationsRoutes(options: OperationsOptions): OperationsRoutes {
  const { store, metrics } = options;
  // The access-key check's constant-time comparison, with the one token as its only key.
  const tokenAccepted = createApiKeyCheck(
    options.metricsToken === undefined ? [] : [options.metricsToken],
  );
  let draining = false;
  const router = Router();

  router.get('/readyz', async (_req, res) => {
    const storeReady = !draining && (await storeAnswers(store));
    // Checked after the ping as well: closing may have begun while it ran.
    if (draining) res.status(503).json({ ok: false, reason: 'shutting down' });
    else if (storeReady) res.json({ ok: true });
    else res.status(503).json({ ok: false, reason: 'store unavailable' });
  });

  router.get('/metrics', async (req, res) => {
    if (tokenAccepted !== null && !tokenAccepted(bearerToken(req))) {
      res.status(401).set('www-authenticate', 'Bearer').json({ error: 'metrics token required' });
      return;
    }
    const text = await metrics.scrape();
    res.set('content-type', metrics.contentType).send(text);
  });

  return {
    router,
    startDraining: () => {
      draining = true;
    },
  };
}
