/**
 * A small hand-written SVG line chart (no dependencies): one polyline per series with
 * point markers and min-max whiskers, linear axes from 0 with "nice" ticks, a legend.
 */
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Ticks at 1/2/5 x 10^k steps covering [0, max]. */
export function niceTicks(max, target = 5) {
  if (!(max > 0)) return [0, 1];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks = [];
  for (let v = 0; v < max + step - 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

const fmt = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1).replace(/\.0$/, ''));

/**
 * series: [{ name, color, dash?, points: [{ x, y, lo?, hi? }] }]
 * Returns the SVG document text.
 */
export function lineChart({ title, subtitle, xLabel, yLabel, series, width = 780, height = 420 }) {
  const m = { left: 64, right: 220, top: subtitle ? 58 : 40, bottom: 52 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const pts = series.flatMap((s) => s.points);
  const xTicks = niceTicks(Math.max(...pts.map((p) => p.x)));
  const yTicks = niceTicks(Math.max(...pts.map((p) => p.hi ?? p.y)));
  const xMax = xTicks.at(-1);
  const yMax = yTicks.at(-1);
  const X = (x) => m.left + (x / xMax) * pw;
  const Y = (y) => m.top + ph - (y / yMax) * ph;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${m.left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  if (subtitle) out.push(`<text x="${m.left}" y="40" fill="#555">${esc(subtitle)}</text>`);
  for (const t of yTicks) {
    out.push(`<line x1="${m.left}" y1="${Y(t).toFixed(1)}" x2="${m.left + pw}" y2="${Y(t).toFixed(1)}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${m.left - 8}" y="${(Y(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of xTicks) {
    out.push(`<line x1="${X(t).toFixed(1)}" y1="${m.top + ph}" x2="${X(t).toFixed(1)}" y2="${m.top + ph + 5}" stroke="#333"/>`);
    out.push(`<text x="${X(t).toFixed(1)}" y="${m.top + ph + 19}" text-anchor="middle">${fmt(t)}</text>`);
  }
  out.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + ph}" stroke="#333"/>`);
  out.push(`<line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}" stroke="#333"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${height - 12}" text-anchor="middle">${esc(xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    const sorted = [...s.points].sort((a, b) => a.x - b.x);
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${sorted.map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of sorted) {
      if (p.lo !== undefined && p.hi !== undefined && p.hi > p.lo) {
        // whiskers of the series side by side, so that they do not hide one another
        const x = (X(p.x) + (i - (series.length - 1) / 2) * 5).toFixed(1);
        out.push(`<line x1="${x}" y1="${Y(p.lo).toFixed(1)}" x2="${x}" y2="${Y(p.hi).toFixed(1)}" stroke="${s.color}" stroke-width="1"/>`);
        for (const v of [p.lo, p.hi]) out.push(`<line x1="${(Number(x) - 3).toFixed(1)}" y1="${Y(v).toFixed(1)}" x2="${(Number(x) + 3).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="${s.color}"/>`);
      }
      out.push(`<circle cx="${X(p.x).toFixed(1)}" cy="${Y(p.y).toFixed(1)}" r="3.5" fill="${s.color}"><title>${esc(`${s.name}: N=${p.x}, ${fmt(p.y)}`)}</title></circle>`);
    }
    const ly = m.top + 10 + i * 22;
    const lx = m.left + pw + 18;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 26}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<circle cx="${lx + 13}" cy="${ly}" r="3.5" fill="${s.color}"/>`);
    out.push(`<text x="${lx + 34}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
