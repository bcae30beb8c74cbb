// Line charts as hand-drawn SVG (no library: two charts of a few hundred points each do not
// need one). series: [{label, cls, points: [[timestampMs, value], ...]}]; colours come from the
// stylesheet by class, so nothing inline is needed under the console's CSP.

const NS = 'http://www.w3.org/2000/svg';
const W = 640;
const H = 180;
const PAD = { left: 56, right: 8, top: 10, bottom: 22 };

function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A "nice" upper bound for the y axis. */
function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function clock(ms) {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}:${String(d.getSeconds()).padStart(2, '0')}`;
}

/** An <svg> line chart with a legend; `unit` is appended to axis labels. */
export function lineChart(title, series, unit = '') {
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title });
  const all = series.flatMap((s) => s.points);
  const t0 = all.length ? Math.min(...all.map((p) => p[0])) : Date.now() - 60_000;
  const t1 = all.length ? Math.max(...all.map((p) => p[0])) : Date.now();
  const ymax = niceMax(all.length ? Math.max(...all.map((p) => p[1])) : 0);
  const x = (t) => PAD.left + ((t - t0) / Math.max(1, t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / ymax) * (H - PAD.top - PAD.bottom);
  for (let i = 0; i <= 4; i++) {
    const v = (ymax * i) / 4;
    svg.append(el('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'gridline' }));
    svg.append(el('text', { x: PAD.left - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, `${Number(v.toPrecision(3)).toLocaleString('en-US')}${unit}`));
  }
  svg.append(el('text', { x: PAD.left, y: H - 4, class: 'axis' }, clock(t0)));
  svg.append(el('text', { x: W - PAD.right, y: H - 4, class: 'axis', 'text-anchor': 'end' }, clock(t1)));
  for (const s of series) {
    if (s.points.length === 0) continue;
    const pts = s.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    svg.append(el('polyline', { points: pts, class: `line ${s.cls}` }));
  }
  const legend = document.createElement('div');
  legend.className = 'legend';
  for (const s of series) {
    const item = document.createElement('span');
    item.className = `key ${s.cls}`;
    const last = s.points.length ? s.points[s.points.length - 1][1] : 0;
    item.textContent = `${s.label}: ${Number(last.toFixed(1)).toLocaleString('en-US')}${unit}`;
    legend.append(item);
  }
  const fig = document.createElement('figure');
  fig.className = 'chart-box';
  const cap = document.createElement('figcaption');
  cap.textContent = title;
  fig.append(cap, svg, legend);
  return fig;
}

/** Per-second rates from RabbitMQ samples of a counter (newest first), oldest first. */
export function ratesFrom(samples) {
  const pts = [];
  for (let i = samples.length - 1; i > 0; i--) {
    const a = samples[i];
    const b = samples[i - 1];
    const dt = (b.timestamp - a.timestamp) / 1000;
    if (dt > 0) pts.push([b.timestamp, Math.max(0, (b.sample - a.sample) / dt)]);
  }
  return pts;
}

/** Depth samples (newest first) as points, oldest first. */
export function depthsFrom(samples) {
  return samples.map((s) => [s.timestamp, s.sample]).reverse();
}
