// The webhook benchmark (PROTOCOL §9, issue 14): whether wake-up notices cost `send` anything.
// Half the recipients have a hook pointing at a loopback receiver that answers 204; the other half
// have none. Sends alternate between the two halves in short phases (so drift hits both alike), at
// 1 and 16 in flight, through the SDK's tRPC client. A notice leaves after the answer, so the
// latency of a send to a hooked mailbox should match the latency of one to a plain mailbox; the
// relay's CPU per message shows what posting the notices costs it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRelayTransport } from '@deaddrop/client';
import { cpuMs } from '../load-support/proc-readings.js';
import { onTeardown } from '../load-support/teardown.js';
import { latencySummary, round, type LatencySummary } from './stats.js';
import { trpcClient, type BenchRelay, type Recipient } from './systems.js';

/** A loopback HTTP server that counts the notices it is posted and answers each with 204. */
export interface NoticeReceiver {
  readonly url: string;
  /** `host:port`, for the relay's DEADDROP_WEBHOOK_ALLOWED_HOSTS. */
  readonly hostPort: string;
  received(): number;
}

export async function startNoticeReceiver(): Promise<NoticeReceiver> {
  let received = 0;
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received++;
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  onTeardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/wake`,
    hostPort: `127.0.0.1:${port}`,
    received: () => received,
  };
}

type Half = 'hooked' | 'no hook';

export interface WebhookSendCell extends LatencySummary {
  readonly recipients: Half;
  readonly inFlight: number;
  readonly messages: number;
  readonly perSecond: number | null;
  readonly serverCpuUsPerMessage: number | null;
}

export interface WebhookSendResult {
  readonly store: string;
  readonly cells: readonly WebhookSendCell[];
  /** Notices the receiver got while the hooked half was sent to (coalesced per §9). */
  readonly noticesReceived: number;
  /** hooked / no hook at the same number in flight: about 1 means no measurable cost. */
  readonly ratios: readonly {
    readonly inFlight: number;
    readonly p50Ratio: number | null;
    readonly p99Ratio: number | null;
    readonly throughputRatio: number | null;
    readonly serverCpuRatio: number | null;
  }[];
}

export interface WebhookSendRun {
  readonly relay: BenchRelay;
  /** Registered on `relay`; the first half get a hook, the rest none. */
  readonly recipients: readonly Recipient[];
  readonly receiver: NoticeReceiver;
  /** Time per (half, in-flight) pair, split into alternating phases. */
  readonly seconds: number;
}

const IN_FLIGHT = [1, 16] as const;
const PHASES = 6;

/** Sets a hook on each recipient's mailbox with a proof signed by that recipient. */
async function setHooks(relay: BenchRelay, recipients: readonly Recipient[], url: string) {
  const { relayId } = await trpcClient(relay.url).info.query();
  for (const { agentId, keys } of recipients) {
    const owner = createRelayTransport({
      relayUrl: relay.url,
      relayId: () => Promise.resolve(relayId),
      signer: { agentId, keys },
    });
    await owner.hooks.set.mutate({ url, secret: 'bench-webhook-secret-0123456789abcdef' });
  }
}

interface PhaseTotals {
  readonly latencies: number[];
  messages: number;
  seconds: number;
  serverMs: number;
}

export async function measureWebhookSend({
  relay,
  recipients,
  receiver,
  seconds,
}: WebhookSendRun): Promise<WebhookSendResult> {
  const middle = Math.floor(recipients.length / 2);
  if (middle === 0) throw new Error('the webhook benchmark needs at least 2 recipients');
  const halves = new Map<Half, readonly Recipient[]>([
    ['hooked', recipients.slice(0, middle)],
    ['no hook', recipients.slice(middle)],
  ]);
  await setHooks(relay, halves.get('hooked') ?? [], receiver.url);
  const client = trpcClient(relay.url);
  let noticesReceived = 0;
  const cells: WebhookSendCell[] = [];
  for (const inFlight of IN_FLIGHT) {
    const totals = new Map<Half, PhaseTotals>();
    for (let phase = 0; phase < PHASES * 2; phase++) {
      const half: Half = phase % 2 === 0 ? 'hooked' : 'no hook';
      const targets = halves.get(half) ?? [];
      const total = totals.get(half) ?? { latencies: [], messages: 0, seconds: 0, serverMs: 0 };
      totals.set(half, total);
      let next = 0;
      const noticesBefore = receiver.received();
      const serverBefore = cpuMs(relay.pid).total;
      const started = performance.now();
      const deadline = started + (seconds * 1000) / PHASES;
      const worker = async (): Promise<void> => {
        while (performance.now() < deadline) {
          const target = targets[next++ % targets.length];
          if (target === undefined) throw new Error('no recipient');
          const t0 = performance.now();
          await client.send.mutate({ to: target.agentId, ciphertext: target.ciphertext });
          total.latencies.push(performance.now() - t0);
          total.messages++;
        }
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
      total.seconds += (performance.now() - started) / 1000;
      total.serverMs += cpuMs(relay.pid).total - serverBefore;
      if (half === 'hooked') noticesReceived += receiver.received() - noticesBefore;
    }
    for (const [half, total] of totals) {
      cells.push({
        recipients: half,
        inFlight,
        messages: total.messages,
        perSecond: round(total.messages / total.seconds, 0),
        serverCpuUsPerMessage:
          total.messages > 0 ? round((1000 * total.serverMs) / total.messages, 0) : null,
        ...latencySummary(total.latencies),
      });
    }
  }
  const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
    a === null || a === undefined || b === null || b === undefined || b === 0
      ? null
      : round(a / b, 2);
  return {
    store: relay.store,
    cells,
    noticesReceived,
    ratios: IN_FLIGHT.map((inFlight) => {
      const hooked = cells.find((c) => c.inFlight === inFlight && c.recipients === 'hooked');
      const plain = cells.find((c) => c.inFlight === inFlight && c.recipients === 'no hook');
      return {
        inFlight,
        p50Ratio: ratio(hooked?.p50Ms, plain?.p50Ms),
        p99Ratio: ratio(hooked?.p99Ms, plain?.p99Ms),
        throughputRatio: ratio(hooked?.perSecond, plain?.perSecond),
        serverCpuRatio: ratio(hooked?.serverCpuUsPerMessage, plain?.serverCpuUsPerMessage),
      };
    }),
  };
}
