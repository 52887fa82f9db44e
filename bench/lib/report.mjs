// bench/results.json, bench/results.md and bench/chart.svg from the measured scenarios.
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';

const f = (n, digits = 1) => (n === null || n === undefined || Number.isNaN(n) ? '–' : Number(n).toFixed(digits));

export async function writeReport(dir, results) {
  await writeFile(join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(join(dir, 'results.md'), markdown(results));
  await writeFile(join(dir, 'chart.svg'), chart(results));
}

export function markdown(r) {
  const lines = [
    `# Benchmark results (${r.mode})`,
    '',
    `${r.date}, node ${r.node}, ${r.cpus} CPUs, file ${f(r.sizeMiB, 0)} MiB, ${r.runs} runs per scenario (medians; spread = min–max). ` +
      'MiB/s = bytes / wall time of the whole process (start, authorization and any hashing included). RSS = peak RSS of the measuring process; CPU = its user + system CPU seconds (all its threads). ' +
      'Calls and transactions (class A/B/C) are counted by the emulator, per run. Ratio = this scenario / its raw ceiling. ' +
      'Design ceiling (uploads from a file) = the raw uploader after the same whole-file SHA1 pre-pass the provider needs (large_file_sha1 is given at b2_start_large_file); ' +
      'for a pipe, the raw uploader reading the same pipe (parts buffered, the whole SHA1 computed as read); ' +
      'for a download to stdout, the raw single stream written to the same stdout reader.',
    '',
    '| scenario | MiB/s | wall s (spread) | CPU s | peak RSS MiB | API calls | A/B/C | vs ceiling | vs design ceiling |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of r.scenarios) {
    const t = s.transactions;
    lines.push(`| ${s.name} | ${f(s.mibps)} | ${f(s.seconds.median, 2)} (${f(s.seconds.min, 2)}–${f(s.seconds.max, 2)}) | ${f(s.cpuSeconds?.median, 2)} | ${f(s.rssMiB.median, 0)} | ${s.calls ?? '–'} | ${t ? `${t.A}/${t.B}/${t.C}` : '–'} | ${s.ratio === undefined ? '–' : `${f(s.ratio * 100, 0)}%${s.ceiling ? ` of ${s.ceiling}` : ''}`} | ${s.designRatio === undefined ? '–' : `${f(s.designRatio * 100, 0)}%`} |`);
  }
  if (r.notes?.length) lines.push('', ...r.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

const WHO = {ceiling: 'raw ceiling', design: 'design ceiling', provider: 'provider CLI'};

/** Upload throughput against concurrency, one line per part size, provider vs raw ceiling. */
export function chart(r) {
  const points = r.scenarios.filter((s) => s.chart);
  const W = 780;
  const H = 360;
  const pad = {l: 60, r: 220, t: 40, b: 50};
  const concs = [...new Set(points.map((p) => p.chart.concurrency))].sort((a, b) => a - b);
  const maxY = Math.max(1, ...points.map((p) => p.mibps ?? 0)) * 1.1;
  const x = (c) => pad.l + (concs.length === 1 ? 0 : (concs.indexOf(c) / (concs.length - 1)) * (W - pad.l - pad.r));
  const y = (v) => H - pad.b - (v / maxY) * (H - pad.t - pad.b);
  const series = new Map();
  for (const p of points) {
    const key = `${WHO[p.chart.who]} ${p.chart.partMB} MB parts`;
    if (!series.has(key)) series.set(key, {who: p.chart.who, partMB: p.chart.partMB, pts: []});
    series.get(key).pts.push([p.chart.concurrency, p.mibps ?? 0]);
  }
  const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728'];
  const parts = [...new Set([...series.values()].map((s) => s.partMB))];
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">\n`;
  svg += `<rect width="${W}" height="${H}" fill="white"/>\n<text x="${pad.l}" y="20" font-size="14">Upload of ${f(r.sizeMiB, 0)} MiB: MiB/s against concurrency (solid: provider CLI, dashed: raw ceiling, dotted: design ceiling)</text>\n`;
  svg += `<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="black"/><line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}" stroke="black"/>\n`;
  for (const c of concs) svg += `<text x="${x(c)}" y="${H - pad.b + 18}" text-anchor="middle">${c}</text>\n`;
  svg += `<text x="${(pad.l + W - pad.r) / 2}" y="${H - 12}" text-anchor="middle">concurrency (parts in flight)</text>\n`;
  for (let i = 0; i <= 4; i++) {
    const v = (maxY / 4) * i;
    svg += `<text x="${pad.l - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(0)}</text><line x1="${pad.l}" y1="${y(v)}" x2="${W - pad.r}" y2="${y(v)}" stroke="#ddd"/>\n`;
  }
  let legend = 0;
  for (const [key, s] of series) {
    const color = colors[parts.indexOf(s.partMB) % colors.length];
    const d = s.pts.sort((a, b) => a[0] - b[0]).map(([c, v], i) => `${i ? 'L' : 'M'}${x(c).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    const dash = s.who === 'ceiling' ? ' stroke-dasharray="6,4"' : s.who === 'design' ? ' stroke-dasharray="2,3"' : '';
    svg += `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash}/>\n`;
    for (const [c, v] of s.pts) svg += `<circle cx="${x(c).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${color}"/>\n`;
    const ly = pad.t + 10 + legend++ * 18;
    svg += `<line x1="${W - pad.r + 10}" y1="${ly}" x2="${W - pad.r + 34}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/><text x="${W - pad.r + 40}" y="${ly + 4}">${key}</text>\n`;
  }
  return `${svg}</svg>\n`;
}
