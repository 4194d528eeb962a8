#!/usr/bin/env node
// Puts Lineup's pipeline benchmark beside the onnxruntime-node peer runs: photos/s,
// the ratio, and time per stage. Run by scripts/bench.sh; writes comparison.json.
//
// usage: node bench/compare.js PIPELINE.json PEER.json [PEER.json...] [--out OUT.json]
'use strict';
const fs = require('fs');

const args = process.argv.slice(2);
let outPath = null;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out') outPath = args[++i];
  else files.push(args[i]);
}
if (files.length < 2) {
  console.error('usage: node bench/compare.js PIPELINE.json PEER.json [PEER.json...] [--out OUT.json]');
  process.exit(2);
}
const lineup = JSON.parse(fs.readFileSync(files[0], 'utf8'));
const peers = files.slice(1).map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
const runs = lineup.end_to_end || [];
if (!runs.length) {
  console.error(`${files[0]}: no end_to_end results`);
  process.exit(1);
}
const micro = {};
for (const m of lineup.micro || []) micro[`${m.op}|${m.what}|${m.cv_threads}`] = m;
const lfwWhat = (lineup.micro || []).find((m) => m.op === 'Decode' && m.what.startsWith('lfw'));
const lfw = lfwWhat ? lfwWhat.what : 'lfw 250x250';
const lmEntry = (lineup.micro || []).find((m) => m.op === 'Landmarks');
const lmWhat = lmEntry ? lmEntry.what : '1 face';
const microMs = (op, what, threads) => {
  const m = micro[`${op}|${what}|${threads}`];
  return m && !m.error ? m.median_ms : null;
};

function describeLineup() {
  const o = lineup.pipeline_options;
  if (!o) return 'its default pipeline';
  const runs = (o.refine_landmarks ? 2 : 1) * (o.mirror_landmarks ? 2 : 1);
  return `the ${o.detector} detector (min_face ${o.min_face}), ${runs} landmark run${runs > 1 ? 's' : ''} per face` +
    `${o.refine_landmarks ? ' (refine)' : ''}${o.mirror_landmarks ? ' (mirror)' : ''}, embedder ${o.embedder},`;
}
const fmt = (v, d = 2) => (v === null || v === undefined || Number.isNaN(v) ? '-' : Number(v).toFixed(d));
function table(header, rows) {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r ? String(r[i] ?? '').length : 0))));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ').trimEnd();
  const rule = '-'.repeat(w.reduce((a, b) => a + b + 2, -2));
  return [line(header), rule, ...rows.map((r) => (r ? line(r) : rule))].join('\n');
}

const cols = [];
for (const r of runs) {
  cols.push({
    name: `Lineup ${r.threads}x${r.threads > 1 ? '1' : lineup.machine.opencv_threads_default}thr`,
    kind: 'lineup', pps: r.photos_per_s, steady: r.steady_photos_per_s, photos: r.photos,
    withFace: r.photos - r.photos_with_no_face - r.photos_failed, faces: r.faces,
    stages: r.stages_cpu_ms_per_photo, cosSame: r.cosine_same_person, cosDiff: r.cosine_different_people,
  });
}
for (const p of peers) {
  cols.push({
    name: `ORT ${p.opt} 1x${p.threads}thr`, kind: 'peer', pps: p.photos_per_s, steady: null, photos: p.photos,
    withFace: p.faces, faces: p.faces, stages: p.stages_ms_per_photo,
  });
}
// The ratio is taken against Lineup's first run (scripts/bench.sh: one pipeline per core, the default).
const best = cols[0];

console.log(`\n== Lineup vs onnxruntime-node: ${runs[0].photos} LFW photos, same list ` +
  `(Lineup ${lineup.machine.cores} cores, OpenCV ${lineup.machine.opencv}; ORT-node ${peers[0] ? peers[0].version : '?'})`);
const rows = [];
rows.push(['photos/s (wall clock)', ...cols.map((c) => fmt(c.pps))]);
rows.push(['photos/s (steady state)', ...cols.map((c) => fmt(c.steady))]);
rows.push([`${best.name} / this`, ...cols.map((c) => fmt(best.pps / c.pps) + 'x')]);
rows.push(null);
rows.push(['photos with a face', ...cols.map((c) => String(c.withFace))]);
rows.push(['faces embedded', ...cols.map((c) => String(c.faces))]);
rows.push(null);
for (const s of ['decode', 'detect', 'landmarks', 'align', 'quality', 'embed']) {
  rows.push([`${s} ms/photo`, ...cols.map((c) => fmt(c.stages[s], 3))]);
}
rows.push(['sum of stages ms/photo', ...cols.map((c) =>
  fmt(['decode', 'detect', 'landmarks', 'align', 'quality', 'embed'].reduce((a, s) => a + (c.stages[s] || 0), 0), 3))]);
console.log(table(['', ...cols.map((c) => c.name)], rows));
console.log('Lineup stage times are CPU-ms per photo summed over its pipelines (each network on 1 OpenCV thread\n' +
  'when there are 2 pipelines); ORT-node stage times are wall ms per photo of its single pipeline (2 intra-op\n' +
  'threads). Lineup decode includes the file read, ORT-node decode does not. Work differs:\n' +
  `  Lineup runs ${describeLineup()} and embeds every face;\n` +
  '  ORT-node runs one 320x240 detector pass, 1 landmark run, embeds the largest face only, no quality stage.');

// Single-photo latencies: the nearest like-for-like per stage.
const lat = [
  ['decode (from memory)', microMs('Decode', lfw, 1), microMs('Decode', lfw, 2), 'decode'],
  ['detect pyramid', microMs('Detect', `pyramid ${lfw}`, 1), microMs('Detect', `pyramid ${lfw}`, 2), 'detect'],
  ['detect single (ORT-like)', microMs('Detect', `single ${lfw}`, 1), microMs('Detect', `single ${lfw}`, 2), 'detect'],
  [`landmarks (${lmWhat})`, microMs('Landmarks', lmWhat, 1), microMs('Landmarks', lmWhat, 2), 'landmarks'],
  ['align', microMs('Align', '1 face', 1), microMs('Align', '1 face', 2), 'align'],
  ['quality', microMs('Quality', '1 face', 1), microMs('Quality', '1 face', 2), 'quality'],
  ['embed', microMs('Embed', '1 face', 1), microMs('Embed', '1 face', 2), 'embed'],
  ['whole photo (Analyze)', microMs('Analyze', lfw, 1), microMs('Analyze', lfw, 2), null],
];
if (lat.some((r) => r[1] !== null)) {
  console.log(`\n== One LFW photo, one face: Lineup latency (Google Benchmark median) vs ORT-node mean ms/photo`);
  const prow = (p, key) => (key ? fmt(p.stages_ms_per_photo[key], 3) : fmt(1000 / p.photos_per_s, 3));
  console.log(table(['stage', 'Lineup 1 thread', 'Lineup 2 threads', ...peers.map((p) => `ORT ${p.opt} 1x${p.threads}thr`)],
    lat.map(([n, a, b, key]) => [n, fmt(a, 3), fmt(b, 3), ...peers.map((p) => prow(p, key))])));
  console.log('ORT-node "whole photo" is 1000 / its photos/s (includes its decode and file read).');
}

const out = {
  photos: runs[0].photos,
  lineup: runs.map((r) => ({ threads: r.threads, photos_per_s: r.photos_per_s, steady_photos_per_s: r.steady_photos_per_s,
    stages_cpu_ms_per_photo: r.stages_cpu_ms_per_photo, faces: r.faces, photos_with_no_face: r.photos_with_no_face,
    load_before: r.load_before, load_after: r.load_after })),
  peers: peers.map((p) => ({ opt: p.opt, threads: p.threads, photos_per_s: p.photos_per_s,
    stages_ms_per_photo: p.stages_ms_per_photo, faces: p.faces, ratio_lineup_to_peer: best.pps / p.photos_per_s })),
  lineup_reference: best.name,
};
if (outPath) {
  fs.writeFileSync(outPath, JSON.stringify(out, null, 2) + '\n');
  console.log(`wrote ${outPath}`);
}
