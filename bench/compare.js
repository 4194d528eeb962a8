#!/usr/bin/env node
// Puts Lineup's pipeline benchmark beside the onnxruntime-node peer runs (a sweep of
// configurations, bench/peer/ort_pipeline.js): every peer configuration's photos/s,
// then Lineup's default run beside the best peer configuration with the ratio
// Lineup / best peer and the time per stage. Run by scripts/bench.sh; writes
// comparison.json.
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
const peerName = (p) => `ORT ${p.workers || 1}x${p.threads}thr ${p.opt}${p.decoder && p.decoder !== 'sharp' ? ' ' + p.decoder : ''}`;
const bestPeer = peers.reduce((a, b) => (b.photos_per_s > a.photos_per_s ? b : a));
const lineupRef = cols[0];  // scripts/bench.sh: one pipeline per core, the default
const ratio = lineupRef.pps / bestPeer.photos_per_s;

console.log(`\n== onnxruntime-node peer configurations: ${bestPeer.photos} LFW photos, same list ` +
  `(ORT-node ${bestPeer.version}; ${bestPeer.decoder_version || bestPeer.decoder || ''})`);
console.log(table(['configuration', 'photos/s', 'after start-up', 'start-up ms', 'faces', `${lineupRef.name} / this`],
  peers.map((p) => [peerName(p) + (p === bestPeer ? ' (best)' : ''), fmt(p.photos_per_s), fmt(p.steady_photos_per_s),
    fmt(p.startup_ms, 0), String(p.faces), fmt(lineupRef.pps / p.photos_per_s) + 'x'])));
console.log('workers x intra-op threads per session, graph optimisation level; photos/s by the wall clock from\n' +
  'process start (models loaded inside it, as in Lineup\'s figure).');

cols.push({
  name: peerName(bestPeer), kind: 'peer', pps: bestPeer.photos_per_s, steady: bestPeer.steady_photos_per_s,
  photos: bestPeer.photos, withFace: bestPeer.photos_with_face, faces: bestPeer.faces, stages: bestPeer.stages_ms_per_photo,
});

console.log(`\n== Lineup vs the best peer: ${runs[0].photos} LFW photos, same list ` +
  `(Lineup ${lineup.machine.cores} cores, OpenCV ${lineup.machine.opencv})`);
const rows = [];
rows.push(['photos/s (wall clock)', ...cols.map((c) => fmt(c.pps))]);
rows.push(['photos/s (after start-up)', ...cols.map((c) => fmt(c.steady))]);
rows.push([`${lineupRef.name} / this`, ...cols.map((c) => fmt(lineupRef.pps / c.pps) + 'x')]);
rows.push(null);
rows.push(['photos with a face', ...cols.map((c) => String(c.withFace))]);
rows.push(['faces embedded', ...cols.map((c) => String(c.faces))]);
rows.push(null);
for (const st of ['decode', 'detect', 'landmarks', 'align', 'quality', 'embed']) {
  rows.push([`${st} ms/photo`, ...cols.map((c) => fmt(c.stages[st], 3))]);
}
rows.push(['sum of stages ms/photo', ...cols.map((c) =>
  fmt(['decode', 'detect', 'landmarks', 'align', 'quality', 'embed'].reduce((a, st) => a + (c.stages[st] || 0), 0), 3))]);
console.log(table(['', ...cols.map((c) => c.name)], rows));
console.log(`Lineup / best peer: ${fmt(ratio)}x (target >= 1.5x).\n` +
  'Stage times: Lineup\'s are CPU-ms per photo summed over its pipelines; the peer\'s are wall ms per photo\n' +
  'summed over its workers (each worker does one thing at a time). Lineup\'s decode includes the file read,\n' +
  'the peer\'s does not. Same work: ' + `Lineup runs ${describeLineup()} and embeds every face;\n` +
  'the peer runs the same detection passes and rules (bench/peer/ort_pipeline.js) and embeds every face it keeps.');
const faceGap = Math.abs(bestPeer.faces - lineupRef.faces) / Math.max(1, lineupRef.faces);
if (faceGap > 0.02) {
  console.log(`WARNING: the peer embedded ${bestPeer.faces} faces and Lineup ${lineupRef.faces}: ` +
    'the two do not do the same work; the ratio is not a fair comparison');
}

const out = {
  photos: runs[0].photos,
  lineup: runs.map((r) => ({ threads: r.threads, photos_per_s: r.photos_per_s, steady_photos_per_s: r.steady_photos_per_s,
    stages_cpu_ms_per_photo: r.stages_cpu_ms_per_photo, faces: r.faces, photos_with_no_face: r.photos_with_no_face,
    load_before: r.load_before, load_after: r.load_after })),
  peers: peers.map((p) => ({ workers: p.workers, threads: p.threads, opt: p.opt, decoder: p.decoder,
    photos_per_s: p.photos_per_s, steady_photos_per_s: p.steady_photos_per_s, startup_ms: p.startup_ms,
    stages_ms_per_photo: p.stages_ms_per_photo, faces: p.faces, ratio_lineup_to_peer: lineupRef.pps / p.photos_per_s })),
  best_peer: peerName(bestPeer),
  ratio_lineup_to_best_peer: ratio,
  lineup_reference: lineupRef.name,
};
if (outPath) {
  fs.writeFileSync(outPath, JSON.stringify(out, null, 2) + '\n');
  console.log(`wrote ${outPath}`);
}
