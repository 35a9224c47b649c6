// The compact tables `npm run bench` prints at the end (bench-results.json has everything).
import { cryptoRows } from './crypto/crypto-rows.js';
import type { BenchResults } from './bench-results.js';

type Cell = string | number | null | undefined;

const fmt = (value: Cell): string =>
  value === null || value === undefined
    ? '—'
    : typeof value === 'number'
      ? value.toLocaleString('en-US', { maximumFractionDigits: 2 })
      : value;

function table(title: string, header: readonly string[], rows: readonly (readonly Cell[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => fmt(r[i]).length)));
  const line = (cells: readonly Cell[]): string =>
    cells
      .map((c, i) => (i === 0 ? fmt(c).padEnd(widths[i] ?? 0) : fmt(c).padStart(widths[i] ?? 0)))
      .join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

export function printReport(results: BenchResults): void {
  const { machine } = results;
  console.log(
    `\n${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB ?? '?'} GiB, Node ${machine.node}, ${machine.platform}; load ${machine.loadAverageAtStart.join(' ')} → ${(machine.loadAverageAtEnd ?? []).join(' ')}`,
  );
  if (results.send !== undefined) sendTable(results.send);
  if (results.groupSend.length > 0) groupSendTable(results.groupSend);
  if (results.webhook !== undefined) webhookTable(results.webhook);
  if (results.forwardSecrecy !== undefined) forwardSecrecyTables(results.forwardSecrecy);
  if (results.mailbox !== undefined) {
    table(
      'reading a mailbox (SDK, fresh proof per request)',
      ['store', 'poll p50', 'poll p99', 'e2e 1 KiB/s', 'e2e 64 KiB/s'],
      Object.entries(results.mailbox).map(([store, m]) => [
        store,
        m.poll.p50Ms,
        m.poll.p99Ms,
        m.endToEnd.find((e) => e.bodyBytes === 1024)?.perSecond,
        m.endToEnd.find((e) => e.bodyBytes === 65536)?.perSecond,
      ]),
    );
  }
  if (results.wakeUp !== undefined) wakeUpTable(results.wakeUp);
  if (results.crypto !== undefined)
    table(
      'crypto (per second, one core)',
      ['measure', 'value', 'note'],
      cryptoRows(results.crypto),
    );
  const live = results.live;
  if (live !== undefined && !('error' in live) && live.goals !== undefined) {
    table(
      `live (bench-live, ${live.ours?.n ?? '?'} SSE subscribers, relay on Redis)`,
      ['goal', 'value', 'pass'],
      live.goals.map((g) => [g.goal, g.value, g.pass ? 'PASS' : 'FAIL']),
    );
  }
}

function sendTable(send: NonNullable<BenchResults['send']>): void {
  const ratios = new Map(send.ratios.map((r) => [`${r.system}/${r.batch}/${r.inFlight}`, r]));
  table(
    'send (msgs/s; latency per message; ratio = ours / baseline at the same number in flight)',
    [
      'system',
      'batch',
      'in flight',
      'msgs/s',
      'p50 ms',
      'p99 ms',
      'x thrpt',
      'x p99',
      'srv µs/msg',
      'redis µs/msg',
      'cli µs/msg',
    ],
    send.cells.map((c) => {
      const r = ratios.get(`${c.system}/${c.batch}/${c.inFlight}`);
      return [
        c.system,
        c.batch,
        c.inFlight,
        c.perSecond,
        c.p50Ms,
        c.p99Ms,
        r?.throughputRatio,
        r?.p99Ratio,
        c.serverCpuUsPerMessage,
        c.redisCpuUsPerMessage,
        c.clientCpuUsPerMessage,
      ];
    }),
  );
}

function groupSendTable(results: BenchResults['groupSend']): void {
  table(
    'group send: one sendMany to 100 recipients vs 100 sends (ratio = sendMany / that mode)',
    ['store', 'mode', 'rounds', 'ms per 100', 'srv µs/msg', 'x srv cpu', 'x wall'],
    results.flatMap((result) =>
      result.modes.map((mode) => {
        const ratio = result.ratios.find((r) => r.versus === mode.mode);
        return [
          result.store,
          mode.mode,
          mode.rounds,
          mode.wallMsPer100,
          mode.serverCpuUsPerMessage,
          ratio?.serverCpuRatio,
          ratio?.wallRatio,
        ];
      }),
    ),
  );
}

function webhookTable(results: NonNullable<BenchResults['webhook']>): void {
  table(
    'send to a mailbox with a wake-up hook vs without (ratio = hooked / no hook)',
    ['store', 'in flight', 'recipients', 'msg/s', 'p50', 'p99', 'srv µs/msg', 'x p50', 'x p99'],
    results.flatMap((result) =>
      result.cells.map((cell) => {
        const ratio = result.ratios.find((r) => r.inFlight === cell.inFlight);
        const hooked = cell.recipients === 'hooked';
        return [
          result.store,
          cell.inFlight,
          hooked ? `hooked (${result.noticesReceived} notices)` : cell.recipients,
          cell.perSecond,
          cell.p50Ms,
          cell.p99Ms,
          cell.serverCpuUsPerMessage,
          hooked ? ratio?.p50Ratio : '',
          hooked ? ratio?.p99Ratio : '',
        ];
      }),
    ),
  );
}

function forwardSecrecyTables(results: NonNullable<BenchResults['forwardSecrecy']>): void {
  table(
    'forward secrecy: sendMessage (SDK, 1 KiB) to a recipient with prekeys (v2) vs with none left (v1)',
    ['store', 'in flight', 'arm', 'msgs', 'msgs/s', 'p50 ms', 'p99 ms', 'srv µs/msg', 'cli µs/msg'],
    results.stores.flatMap((result) =>
      result.cells.map((cell) => [
        result.store,
        cell.inFlight,
        cell.arm,
        cell.messages,
        cell.perSecond,
        cell.p50Ms,
        cell.p99Ms,
        cell.serverCpuUsPerMessage,
        cell.clientCpuUsPerMessage,
      ]),
    ),
  );
  table(
    'forward secrecy: ratios (throughput below 1, latency above 1: the first arm costs more)',
    ['store', 'in flight', 'ratio', 'x thrpt', 'x p50', 'x p99', 'x srv cpu'],
    results.stores.flatMap((result) =>
      result.ratios.map((r) => [
        result.store,
        r.inFlight,
        `${r.of} / ${r.over}`,
        r.throughputRatio,
        r.p50Ratio,
        r.p99Ratio,
        r.serverCpuRatio,
      ]),
    ),
  );
  table(
    "forward secrecy: the relay's books (checked: the run fails on any mismatch)",
    [
      'store',
      'prekeys before',
      '+ published',
      '− left',
      '= claimed',
      'v2 sends',
      'lowest held',
      'claims served / empty',
    ],
    results.stores.map(({ store, prekeys, claims }) => [
      store,
      prekeys.before,
      prekeys.published,
      prekeys.after,
      prekeys.claimed,
      prekeys.forwardSecretSends,
      prekeys.lowestHeld,
      `${fmt(claims.served)} / ${fmt(claims.empty)} (expected ${fmt(claims.expectedServed)} / ${fmt(claims.expectedEmpty)})`,
    ]),
  );
  const sealOpen = results.sealOpen;
  if (sealOpen !== undefined) {
    const kib = sealOpen.bodyBytes / 1024;
    table(
      `seal+open per second, ${kib} KiB, one core (as in bench:crypto)`,
      ['envelope', 'seal+open/s', 'seal/s', 'open/s'],
      [
        ['v1', sealOpen.ours.sealOpen, sealOpen.ours.seal, sealOpen.ours.open],
        ['v2 (prekey)', sealOpen.oursV2.sealOpen, sealOpen.oursV2.seal, sealOpen.oursV2.open],
        ['v2 / v1', `${sealOpen.sealOpenV2VsV1.toFixed(2)}×`, '', ''],
      ],
    );
  }
}

function wakeUpTable(wakeUp: NonNullable<BenchResults['wakeUp']>): void {
  table(
    `long-poll wake-up (send -> waiting poll answered, ms; ${wakeUp.rounds} interleaved rounds, ${wakeUp.idleGapMs} ms idle gap; ratio = ours / the floor's)`,
    ['system', 'p50', 'p99', 'max', 'p50 ratio', 'p99 ratio'],
    wakeUp.cells.map((cell) => [
      cell.client === 'floor'
        ? 'floor (bare node:http)'
        : `relay (${cell.store ?? '?'}), ${cell.client === 'sdk' ? 'SDK' : 'plain HTTP'}`,
      cell.p50Ms,
      cell.p99Ms,
      cell.maxMs,
      cell.p50Ratio,
      cell.p99Ratio,
    ]),
  );
}
