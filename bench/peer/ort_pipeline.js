#!/usr/bin/env node
// Peer benchmark for Lineup: the same photo -> embedding pipeline, run on
// onnxruntime-node with pure-JS image code, so `make bench` can put the C++
// engine's numbers beside a well-tuned mainstream runtime.
//
// For each JPEG in --list it measures, with process.hrtime.bigint:
//   decode     jpeg-js decode to RGB (file read excluded; it is in end-to-end)
//   detect     resize to 320x240, fr_detect.onnx, threshold 0.65, NMS 0.4, squaring
//   landmarks  crop largest face, 64x64 grey, fr_landmark.onnx (68 points)
//   align      68 -> 5 points, least-squares similarity, bilinear warp to 112x112
//   embed      fr_feature.onnx (512-d), L2 normalisation
// and prints ms per photo per stage and photos/s end to end (all photos, with or
// without a face). Sessions are warmed up once before timing.
//
// Intra-op spin-waiting is off by default (--spin 1 turns it on): each of the
// three sessions owns a thread pool whose threads keep spinning after a run, and
// on a 2-core machine they starve the next session and the JS stages (measured
// here: roughly half the photos/s with spinning on).
//
// usage: node ort_pipeline.js --models DIR --list FILE [--limit N]
//          [--opt extended|all|basic|disabled] [--threads N] [--spin 0|1] [--json OUT.json]
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');
const jpeg = require('jpeg-js');

const TEMPLATE = [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
  [41.5493, 92.3655], [70.7299, 92.2041]];
const DET_W = 320, DET_H = 240, DET_THRESH = 0.65, NMS_IOU = 0.4;

function parseArgs(argv) {
  const a = { opt: 'extended', threads: 2, spin: 0, limit: Infinity };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i], v = argv[i + 1];
    if (k === '--models') a.models = v;
    else if (k === '--list') a.list = v;
    else if (k === '--limit') a.limit = parseInt(v, 10);
    else if (k === '--opt') a.opt = v;
    else if (k === '--threads') a.threads = parseInt(v, 10);
    else if (k === '--spin') a.spin = v === '1' ? 1 : 0;
    else if (k === '--json') a.json = v;
    else throw new Error(`unknown argument ${k}`);
    i++;
  }
  if (!a.models || !a.list) throw new Error('usage: node ort_pipeline.js --models DIR --list FILE ' +
    '[--limit N] [--opt extended|all|basic|disabled] [--threads N] [--spin 0|1] [--json OUT.json]');
  if (!['extended', 'all', 'basic', 'disabled'].includes(a.opt)) throw new Error(`bad --opt ${a.opt}`);
  return a;
}

// Bilinear sampling of an interleaved RGB image through an affine map
// (src = [ax bx cx; ay by cy] * [dx dy 1]), writing interleaved float RGB.
// clamp=true replicates the border (resize); false fills with 0 (warp).
function affineSample(img, dw, dh, ax, bx, cx, ay, by, cy, clamp) {
  const { width: W, height: H, data } = img;
  const out = new Float32Array(dw * dh * 3);
  const at = (xx, yy) => (xx < 0 || yy < 0 || xx >= W || yy >= H) ? -1 : (yy * W + xx) * 3;
  for (let y = 0, o = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++, o += 3) {
      let sx = ax * x + bx * y + cx, sy = ay * x + by * y + cy;
      if (clamp) {
        sx = Math.min(Math.max(sx, 0), W - 1); sy = Math.min(Math.max(sy, 0), H - 1);
      } else if (sx < -1 || sy < -1 || sx > W || sy > H) continue;
      const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
      const i00 = at(x0, y0), i10 = at(x0 + 1, y0), i01 = at(x0, y0 + 1), i11 = at(x0 + 1, y0 + 1);
      const w00 = (1 - fx) * (1 - fy), w10 = fx * (1 - fy), w01 = (1 - fx) * fy, w11 = fx * fy;
      for (let c = 0; c < 3; c++) {
        out[o + c] = (i00 < 0 ? 0 : data[i00 + c] * w00) + (i10 < 0 ? 0 : data[i10 + c] * w10) +
          (i01 < 0 ? 0 : data[i01 + c] * w01) + (i11 < 0 ? 0 : data[i11 + c] * w11);
      }
    }
  }
  return out;
}

// Resize the box (x, y, w, h) of img to dw x dh, pixel centres aligned.
function resizeBox(img, x, y, w, h, dw, dh) {
  const sx = w / dw, sy = h / dh;
  return affineSample(img, dw, dh, sx, 0, x + 0.5 * sx - 0.5, 0, sy, y + 0.5 * sy - 0.5, true);
}

// Interleaved RGB -> planar 1x3xHxW tensor, (v - 127) / 128.
function rgbTensor(rgb, w, h) {
  const n = w * h, t = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) t[c * n + i] = (rgb[i * 3 + c] - 127) / 128;
  }
  return new ort.Tensor('float32', t, [1, 3, h, w]);
}

async function detect(sess, img) {
  const rgb = resizeBox(img, 0, 0, img.width, img.height, DET_W, DET_H);
  const out = await sess.run({ input: rgbTensor(rgb, DET_W, DET_H) });
  const scores = out.scores.data, boxes = out.boxes.data, n = scores.length / 2;
  const W = img.width, H = img.height, cand = [];
  for (let i = 0; i < n; i++) {
    const s = scores[2 * i + 1];
    if (s < DET_THRESH) continue;
    const b = [boxes[4 * i] * W, boxes[4 * i + 1] * H, boxes[4 * i + 2] * W, boxes[4 * i + 3] * H];
    if (b[2] > b[0] && b[3] > b[1]) cand.push({ s, b });
  }
  cand.sort((p, q) => q.s - p.s);
  const kept = [];
  for (const c of cand) {
    if (kept.every((k) => iou(k.b, c.b) <= NMS_IOU)) kept.push(c);
  }
  // Square box, side = box height, centred, clipped to the image.
  return kept.map(({ s, b }) => {
    const side = b[3] - b[1], cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2;
    const x1 = Math.max(cx - side / 2, 0), y1 = Math.max(cy - side / 2, 0);
    const x2 = Math.min(cx + side / 2, W - 1), y2 = Math.min(cy + side / 2, H - 1);
    return { score: s, x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
  });
}

function iou(a, b) {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

async function landmarks(sess, img, f) {
  const rgb = resizeBox(img, f.x, f.y, f.w, f.h, 64, 64);
  const grey = new Float32Array(64 * 64);
  for (let i = 0; i < grey.length; i++) {
    grey[i] = (0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2]) / 256;
  }
  const out = (await sess.run({ input: new ort.Tensor('float32', grey, [1, 1, 64, 64]) })).output.data;
  const pts = new Float32Array(136);
  for (let i = 0; i < 68; i++) {
    pts[2 * i] = out[2 * i] * f.w + f.x;
    pts[2 * i + 1] = out[2 * i + 1] * f.h + f.y;
  }
  return pts;
}

function fivePoints(p) {
  const mean = (...idx) => [0, 1].map((k) => idx.reduce((s, i) => s + p[2 * i + k], 0) / idx.length);
  return [mean(37, 38, 40, 41), mean(43, 44, 46, 47), mean(30), mean(48, 60), mean(54, 64)];
}

// Least-squares similarity src -> dst: dst = [a -b; b a] src + t. Returns the
// 112x112 crop, warped through the inverse map, as a 1x3x112x112 tensor.
function align(img, pts68) {
  const src = fivePoints(pts68), n = src.length;
  let msx = 0, msy = 0, mdx = 0, mdy = 0;
  for (let i = 0; i < n; i++) {
    msx += src[i][0] / n; msy += src[i][1] / n; mdx += TEMPLATE[i][0] / n; mdy += TEMPLATE[i][1] / n;
  }
  let num_a = 0, num_b = 0, den = 0;
  for (let i = 0; i < n; i++) {
    const sx = src[i][0] - msx, sy = src[i][1] - msy, dx = TEMPLATE[i][0] - mdx, dy = TEMPLATE[i][1] - mdy;
    num_a += sx * dx + sy * dy; num_b += sx * dy - sy * dx; den += sx * sx + sy * sy;
  }
  const a = num_a / den, b = num_b / den;
  const tx = mdx - (a * msx - b * msy), ty = mdy - (b * msx + a * msy);
  // Inverse: src = [a b; -b a] / (a^2 + b^2) * (dst - t).
  const d = a * a + b * b, ia = a / d, ib = b / d;
  const rgb = affineSample(img, 112, 112, ia, ib, -(ia * tx + ib * ty), -ib, ia, ib * tx - ia * ty, false);
  return rgbTensor(rgb, 112, 112);
}

async function embed(sess, input) {
  const v = Float32Array.from((await sess.run({ input })).output.data);
  const norm = Math.hypot(...v) || 1;
  for (let i = 0; i < v.length; i++) v[i] /= norm;
  return v;
}

function sanityCheck(results) {
  let same = 0, ns = 0, diff = 0, nd = 0;
  for (let i = 0; i < results.length; i++) {
    for (let j = i + 1; j < results.length; j++) {
      let dot = 0;
      const p = results[i].emb, q = results[j].emb;
      for (let k = 0; k < p.length; k++) dot += p[k] * q[k];
      if (results[i].person === results[j].person) { same += dot; ns++; } else { diff += dot; nd++; }
    }
  }
  const ms = ns ? same / ns : NaN, md = nd ? diff / nd : NaN;
  console.log(`cosine: same person ${ms.toFixed(3)} (${ns} pairs), different ${md.toFixed(3)} (${nd} pairs)`);
  if (ns && nd && !(ms > 0.4 && ms - md > 0.25)) {
    console.log('NOTE: same-person similarity is not clearly above different-person; pipeline may be wrong');
  }
}

async function main() {
  const args = parseArgs(process.argv);
  const opts = {
    graphOptimizationLevel: args.opt, intraOpNumThreads: args.threads, interOpNumThreads: 1,
    executionMode: 'sequential', executionProviders: ['cpu'],
    extra: { session: { intra_op: { allow_spinning: String(args.spin) } } },
  };
  const load = (name) => ort.InferenceSession.create(path.join(args.models, name), opts);
  const [det, lmk, feat] = [await load('fr_detect.onnx'), await load('fr_landmark.onnx'), await load('fr_feature.onnx')];
  const zeros = (...dims) => new ort.Tensor('float32', new Float32Array(dims.reduce((x, y) => x * y)), dims);
  await det.run({ input: zeros(1, 3, DET_H, DET_W) });
  await lmk.run({ input: zeros(1, 1, 64, 64) });
  await feat.run({ input: zeros(1, 3, 112, 112) });

  const files = fs.readFileSync(args.list, 'utf8').split('\n').map((s) => s.trim()).filter(Boolean)
    .slice(0, args.limit);
  if (!files.length) throw new Error(`no photos listed in ${args.list}`);
  const stages = { decode: 0n, detect: 0n, landmarks: 0n, align: 0n, embed: 0n };
  const results = [];
  const clock = process.hrtime.bigint;
  const t0 = clock();
  for (const file of files) {
    const buf = fs.readFileSync(file);
    let t = clock();
    const lap = (stage) => { const now = clock(); stages[stage] += now - t; t = now; };
    const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false });
    lap('decode');
    const faces = await detect(det, img);
    lap('detect');
    if (!faces.length) continue;
    const face = faces.reduce((m, f) => (f.w * f.h > m.w * m.h ? f : m));
    const pts = await landmarks(lmk, img, face);
    lap('landmarks');
    const input = align(img, pts);
    lap('align');
    const emb = await embed(feat, input);
    lap('embed');
    results.push({ person: path.basename(path.dirname(file)), emb });
  }
  const wallS = Number(clock() - t0) / 1e9;

  const n = files.length, perPhoto = {};
  console.log(`onnxruntime-node ${ort.env.versions.node}  opt=${args.opt} threads=${args.threads} spin=${args.spin}  ` +
    `photos=${n} faces=${results.length}`);
  console.log('stage        total ms   ms/photo');
  for (const [k, ns] of Object.entries(stages)) {
    const ms = Number(ns) / 1e6;
    perPhoto[k] = +(ms / n).toFixed(3);
    console.log(`${k.padEnd(10)} ${ms.toFixed(1).padStart(10)} ${(ms / n).toFixed(3).padStart(10)}`);
  }
  const pps = n / wallS;
  console.log(`end to end: ${(wallS * 1000).toFixed(1)} ms, ${pps.toFixed(2)} photos/s`);
  sanityCheck(results);

  if (args.json) {
    const report = {
      runtime: 'onnxruntime-node', version: ort.env.versions.node, opt: args.opt, threads: args.threads, spin: args.spin,
      photos: n, faces: results.length, stages_ms_per_photo: perPhoto, photos_per_s: +pps.toFixed(3),
      embeddings: results.slice(0, 5).map((r) => Array.from(r.emb.slice(0, 8), (x) => +x.toFixed(6))),
    };
    fs.writeFileSync(args.json, JSON.stringify(report, null, 2) + '\n');
  }
}

main().catch((e) => { console.error(e.message || e); process.exit(1); });
