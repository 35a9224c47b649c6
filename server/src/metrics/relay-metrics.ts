// The relay's Prometheus metrics. Each relay owns a registry (tests run several relays in one
// process, so prom-client's global registry is never used), holding Node's default process metrics
// beside the relay's own. Label children are looked up once and kept, so recording a call allocates
// nothing.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type LiveTransport = 'sse' | 'websocket' | 'long-poll';
export type DeliveryRoute = 'poll' | 'live';
export type StoreErrorKind = 'unavailable' | 'internal';
/** A webhook attempt delivered or failed; a notice given up (not retried, or no room to queue). */
export type WebhookNoticeOutcome = 'sent' | 'failed' | 'dropped';
/** A prekey claim answered with a prekey, with none left, or refused by its rate limit. */
export type PrekeyClaimOutcome = 'served' | 'empty' | 'refused';
/** A key rotation done, refused (stale, weak key, bad signature) or lost to a concurrent one. */
export type KeyRotationOutcome = 'rotated' | 'refused' | 'conflict';

export interface RelayMetrics {
  /** The Content-Type of `scrape()`'s text. */
  readonly contentType: string;
  /** Every metric in Prometheus's text format. */
  scrape(): Promise<string>;
  /** A finished procedure call: `code` is its tRPC error code, or "OK". */
  procedureCalled(procedure: string, code: string, seconds: number): void;
  messageStored(): void;
  messagesDelivered(via: DeliveryRoute, count: number): void;
  storeFailed(kind: StoreErrorKind): void;
  /** Reports `count()` as the live subscribers of `transport` at every scrape. */
  countLive(transport: LiveTransport, count: () => number): void;
  /** Long-polls are counted as they begin and end waiting: nothing else knows them apart. */
  longPollStarted(): void;
  longPollEnded(): void;
  webhookNotice(outcome: WebhookNoticeOutcome): void;
  prekeyClaim(outcome: PrekeyClaimOutcome): void;
  keyRotation(outcome: KeyRotationOutcome): void;
}

/** From a quick send to the longest long-poll (MAX_WAIT_MS is 30 s by default). */
const DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

type CounterChild = ReturnType<Counter['labels']>;
type HistogramChild = ReturnType<Histogram['labels']>;

interface ProcedureSeries {
  readonly duration: HistogramChild;
  readonly byCode: Map<string, CounterChild>;
}

export function createRelayMetrics(): RelayMetrics {
  const registry = new Registry();
  const registers = [registry];
  // Started by the first scrape: the default metrics keep an event-loop monitor and a GC observer
  // running for good, which a relay nobody scrapes (tests start dozens per process) need not pay.
  let defaultMetrics = false;

  const requests = new Counter({
    name: 'deaddrop_requests_total',
    help: 'Procedure calls by procedure and outcome (tRPC error code, or OK).',
    labelNames: ['procedure', 'code'],
    registers,
  });
  const durations = new Histogram({
    name: 'deaddrop_request_duration_seconds',
    help: 'Procedure call duration, long-polls included (subscriptions: until the stream starts).',
    labelNames: ['procedure'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const stored = new Counter({
    name: 'deaddrop_messages_stored_total',
    help: 'Messages accepted into a mailbox (duplicates of a stored message not counted).',
    registers,
  });
  const delivered = new Counter({
    name: 'deaddrop_messages_delivered_total',
    help: 'Messages handed to their recipient, by poll or by a live subscription.',
    labelNames: ['via'],
    registers,
  });
  const storeErrors = new Counter({
    name: 'deaddrop_store_errors_total',
    help: 'Failed store operations: unavailable (the store cannot be reached) or internal.',
    labelNames: ['kind'],
    registers,
  });

  const webhookNotices = new Counter({
    name: 'deaddrop_webhook_notices_total',
    help: 'Wake-up webhook notices: attempts sent (2xx) or failed, and notices dropped (given up).',
    labelNames: ['outcome'],
    registers,
  });

  // Draining shows here: many `served` and `refused`, then `empty`, for one relay.
  const prekeyClaims = new Counter({
    name: 'deaddrop_prekey_claims_total',
    help: 'One-time prekey claims: served (a prekey handed out), empty (none left), refused (rate limit).',
    labelNames: ['outcome'],
    registers,
  });

  const keyRotations = new Counter({
    name: 'deaddrop_key_rotations_total',
    help: 'Key rotations (directory.rotate): rotated, refused (stale, weak key, bad signature) or conflict.',
    labelNames: ['outcome'],
    registers,
  });

  const liveSources = new Map<LiveTransport, () => number>();
  let longPolls = 0;
  liveSources.set('long-poll', () => longPolls);
  const transports: readonly LiveTransport[] = ['sse', 'websocket', 'long-poll'];
  new Gauge({
    name: 'deaddrop_live_subscribers',
    help: 'Open live subscribers by transport: SSE streams, WebSocket connections, waiting long-polls.',
    labelNames: ['transport'],
    registers,
    // Read at scrape time from the transports themselves rather than kept up to date per event.
    collect() {
      for (const transport of transports)
        this.set({ transport }, liveSources.get(transport)?.() ?? 0);
    },
  });

  // Fixed label sets start at zero, so a dashboard sees the series before the first event.
  const deliveredVia = { poll: delivered.labels('poll'), live: delivered.labels('live') };
  const storeErrorsOf = {
    unavailable: storeErrors.labels('unavailable'),
    internal: storeErrors.labels('internal'),
  };
  const webhookNoticesOf = {
    sent: webhookNotices.labels('sent'),
    failed: webhookNotices.labels('failed'),
    dropped: webhookNotices.labels('dropped'),
  };
  const prekeyClaimsOf = {
    served: prekeyClaims.labels('served'),
    empty: prekeyClaims.labels('empty'),
    refused: prekeyClaims.labels('refused'),
  };
  for (const child of [
    ...Object.values(deliveredVia),
    ...Object.values(storeErrorsOf),
    ...Object.values(webhookNoticesOf),
    ...Object.values(prekeyClaimsOf),
  ])
    child.inc(0);

  const procedures = new Map<string, ProcedureSeries>();
  const seriesOf = (procedure: string): ProcedureSeries => {
    let series = procedures.get(procedure);
    if (series === undefined) {
      series = { duration: durations.labels(procedure), byCode: new Map() };
      procedures.set(procedure, series);
    }
    return series;
  };

  return {
    contentType: registry.contentType,
    scrape: () => {
      if (!defaultMetrics) {
        defaultMetrics = true;
        collectDefaultMetrics({ register: registry });
      }
      return registry.metrics();
    },
    procedureCalled(procedure, code, seconds) {
      const series = seriesOf(procedure);
      let counter = series.byCode.get(code);
      if (counter === undefined) {
        counter = requests.labels(procedure, code);
        series.byCode.set(code, counter);
      }
      counter.inc();
      series.duration.observe(seconds);
    },
    messageStored: () => {
      stored.inc();
    },
    messagesDelivered: (via, count) => {
      deliveredVia[via].inc(count);
    },
    storeFailed: (kind) => {
      storeErrorsOf[kind].inc();
    },
    countLive: (transport, count) => {
      liveSources.set(transport, count);
    },
    longPollStarted: () => {
      longPolls++;
    },
    longPollEnded: () => {
      longPolls--;
    },
    webhookNotice: (outcome) => {
      webhookNoticesOf[outcome].inc();
    },
    prekeyClaim: (outcome) => {
      prekeyClaimsOf[outcome].inc();
    },
    keyRotation: (outcome) => {
      keyRotations.labels(outcome).inc();
    },
  };
}
