// The bench's charts: send throughput against messages in flight (the README's), seal+open per
// second against body size; one line per system, as a small self-contained SVG (no dependency; a
// categorical or log x axis, a linear y axis from 0 or a log one).

const WIDTH = 560;
const HEIGHT = 300;
const MARGIN = { top: 30, right: 150, bottom: 45, left: 60 };
const COLOURS = ['#1f77b4', '#2ca02c', '#d62728', '#9467bd'];
const ENTITIES: Readonly<Record<string, string>> = {
  '<': '&lt;',
  '>': '&gt;',
  '&': '&amp;',
  '"': '&quot;',
};

const escape = (text: string): string => text.replace(/[<>&"]/g, (c) => ENTITIES[c] ?? c);

function niceMax(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(value, 1)));
  return Math.ceil(value / magnitude) * magnitude;
}

export interface ChartSeries {
  readonly name: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** Lines sharing the same x values. */
  readonly series: readonly ChartSeries[];
  /** 'category' (default): the x values evenly spaced; 'log': spaced by their logarithm. */
  readonly xScale?: 'category' | 'log';
  /** 'linear' (default): from 0; 'log': whole powers of ten around the values (all > 0). */
  readonly yScale?: 'linear' | 'log';
  readonly xTickLabel?: (x: number) => string;
}

export function throughputChart(spec: ChartSpec): string {
  const { title, xLabel, yLabel, series } = spec;
  const xTickLabel = spec.xTickLabel ?? String;
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const xFirst = Math.log(xs[0] ?? 1);
  const xSpan = Math.log(xs.at(-1) ?? 1) - xFirst;
  const xAt = (x: number): number =>
    MARGIN.left +
    (xs.length === 1
      ? plotW / 2
      : spec.xScale === 'log'
        ? ((Math.log(x) - xFirst) * plotW) / xSpan
        : (xs.indexOf(x) * plotW) / (xs.length - 1));
  const logY = spec.yScale === 'log';
  const yMin = logY ? 10 ** Math.floor(Math.log10(Math.max(Math.min(...ys), 1e-9))) : 0;
  const yMax = logY
    ? Math.max(10 ** Math.ceil(Math.log10(Math.max(...ys, 1))), yMin * 10)
    : niceMax(Math.max(...ys) * 1.05);
  const yAt = (y: number): number =>
    MARGIN.top +
    plotH -
    (logY
      ? ((Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) /
          (Math.log10(yMax) - Math.log10(yMin))) *
        plotH
      : (y / yMax) * plotH);
  const yTicks = logY
    ? Array.from({ length: Math.round(Math.log10(yMax / yMin)) + 1 }, (_, i) => yMin * 10 ** i)
    : [0, 1, 2, 3, 4].map((i) => (yMax * i) / 4);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${MARGIN.left}" y="18" font-size="13" font-weight="bold">${escape(title)}</text>`,
  ];
  for (const y of yTicks) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${yAt(y)}" y2="${yAt(y)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 6}" y="${yAt(y) + 4}" text-anchor="end">${Math.round(y).toLocaleString('en-US')}</text>`,
    );
  }
  for (const x of xs) {
    parts.push(
      `<text x="${xAt(x).toFixed(1)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${escape(xTickLabel(x))}</text>`,
    );
  }
  parts.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle">${escape(xLabel)}</text>`,
    `<text transform="translate(14 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}" stroke="#333"/>`,
  );
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length] ?? 'black';
    const points = s.points.map((p) => `${xAt(p.x).toFixed(1)},${yAt(p.y).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${points}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const p of s.points)
      parts.push(
        `<circle cx="${xAt(p.x).toFixed(1)}" cy="${yAt(p.y).toFixed(1)}" r="3" fill="${colour}"/>`,
      );
    const ly = MARGIN.top + 10 + i * 18;
    parts.push(
      `<line x1="${WIDTH - MARGIN.right + 12}" x2="${WIDTH - MARGIN.right + 30}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${WIDTH - MARGIN.right + 35}" y="${ly + 4}">${escape(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
