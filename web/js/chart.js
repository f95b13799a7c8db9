// The update chart: stacked bars per hour (installed, failed verification, rolled back) and
// the success rate as a line, with the same numbers in a table for screen readers.
import { h, svg, table } from './dom.js';

export function successRate(b) {
  const total = b.installs + b.failures + b.rollbacks;
  return total === 0 ? null : b.installs / total;
}

export function updateChart(hours) {
  const W = 720, H = 220, L = 36, R = 36, T = 10, B = 28;
  const max = Math.max(1, ...hours.map((b) => b.installs + b.failures + b.rollbacks));
  const bw = (W - L - R) / Math.max(1, hours.length);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const bars = [];
  const points = [];
  hours.forEach((b, i) => {
    const x = L + i * bw;
    let base = 0;
    for (const [k, cls] of [['installs', 'bar-ok'], ['failures', 'bar-fail'], ['rollbacks', 'bar-rb']]) {
      if (b[k] > 0) {
        bars.push(svg('rect', { class: cls, x: (x + 1).toFixed(1), width: Math.max(1, bw - 2).toFixed(1),
          y: y(base + b[k]).toFixed(1), height: (y(base) - y(base + b[k])).toFixed(1) }));
      }
      base += b[k];
    }
    const rate = successRate(b);
    if (rate !== null) points.push(`${(x + bw / 2).toFixed(1)},${(T + (H - T - B) * (1 - rate)).toFixed(1)}`);
  });
  const label = (t) => new Date(t * 1000).toISOString().slice(11, 16);
  const ticks = hours.filter((_, i) => i % Math.max(1, Math.ceil(hours.length / 8)) === 0).map((b) =>
    svg('text', { x: (L + hours.indexOf(b) * bw).toFixed(1), y: H - 8 }, label(b.t)));
  const total = hours.reduce((a, b) => ({ ok: a.ok + b.installs, bad: a.bad + b.failures + b.rollbacks }),
    { ok: 0, bad: 0 });
  const summary = total.ok + total.bad === 0
    ? 'No installs in this period.'
    : `${total.ok} successful install${total.ok === 1 ? '' : 's'} and ${total.bad} failure${total.bad === 1 ? '' : 's'} ` +
      `or rollback${total.bad === 1 ? '' : 's'} in the last ${hours.length} hours: ` +
      `${Math.round((100 * total.ok) / (total.ok + total.bad))}% success.`;
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': summary },
    svg('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }),
    svg('text', { x: 2, y: T + 10 }, String(max)),
    svg('text', { x: 2, y: H - B }, '0'),
    svg('text', { x: W - R + 4, y: T + 10 }, '100%'),
    svg('text', { x: W - R + 4, y: H - B }, '0%'),
    bars, ticks,
    points.length > 1 ? svg('polyline', { class: 'rate', points: points.join(' ') }) : null);
  const rows = hours.filter((b) => b.installs + b.failures + b.rollbacks > 0).map((b) => {
    const r = successRate(b);
    return [new Date(b.t * 1000).toISOString().slice(0, 13).replace('T', ' ') + ':00 UTC', b.installs,
      b.failures, b.rollbacks, r === null ? '' : `${Math.round(r * 100)}%`];
  });
  return h('figure', { class: 'chart' },
    chart,
    h('ul', { class: 'legend' },
      h('li', {}, h('span', { class: 'swatch sw-ok', 'aria-hidden': 'true' }), 'installed'),
      h('li', {}, h('span', { class: 'swatch sw-fail', 'aria-hidden': 'true' }), 'failed verification'),
      h('li', {}, h('span', { class: 'swatch sw-rb', 'aria-hidden': 'true' }), 'rolled back'),
      h('li', {}, '— success rate (right axis)')),
    h('figcaption', {}, summary),
    rows.length ? h('details', {}, h('summary', {}, 'The numbers, hour by hour'),
      table('Installs by hour', ['Hour', { label: 'Installed', num: true }, { label: 'Failed', num: true },
        { label: 'Rolled back', num: true }, { label: 'Success', num: true }], rows)) : null);
}
