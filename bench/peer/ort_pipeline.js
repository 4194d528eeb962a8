#!/usr/bin/env node
// Peer benchmark for Lineup: Lineup's default photo -> embeddings pipeline written the
// way a capable Node.js engineer would write it, on onnxruntime-node, so `make bench`
// can put the C++ engine beside a best-configured mainstream runtime doing the same work.
//
// Same work as Lineup's default (`lineup_bench_pipeline`):
//   decode     the JPEG to RGB with sharp (libvips, native) or jpeg-js (pure JS)
//   detect     Lineup's pyramid schedule: the whole photo fitted into 320x240 (aspect
//              kept, neutral padding), then overlapping 320x240 tiles at finer scales
//              until faces of min_face (20 px) reach 16 network pixels (none for
//              250x250 LFW photos), and a second whole-frame pass with 40% margin when
//              nothing was found; confidence >= 0.6, NMS by IoU 0.4 or 60% containment,
//              boxes under 20 px tall dropped, and no face at all in a photo whose best
//              detection is under 0.8
//   landmarks  every face: its square (side = box height), 64x64 grey, fr_landmark.onnx
//   align      68 -> 5 points, least-squares similarity, bilinear warp to 112x112
//   embed      every face: fr_feature.onnx fed BGR, L2 normalisation
// Lineup's quality stage (a few arithmetic operations per face) has no counterpart.
//
// Parallelism: --workers N worker threads (default: one per core), each with its own
// three sessions of --threads intra-op threads (default 1) and its own libvips with one
// thread; photos are handed out in chunks of --chunk from one queue. photos/s is
// photos / wall-clock seconds from the start (including starting the workers and
// loading the models, as Lineup's figure includes model loading); steady_photos_per_s
// starts when every worker is ready. Stage times are per-worker wall ms (each worker
// runs one thing at a time), summed over workers, per photo: comparable with Lineup's
// CPU-ms per photo.
//
// Intra-op spin-waiting is off by default (--spin 1 turns it on): a session's threads
// keep spinning after a run, and on 2 cores they starve the other sessions.
//
// usage: node ort_pipeline.js --models DIR --list FILE [--limit N] [--workers N]
//          [--threads N] [--opt disabled|basic|extended|all] [--decoder sharp|jpeg-js]
//          [--chunk N] [--spin 0|1] [--json OUT.json]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');

const TEMPLATE = [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
  [41.5493, 92.3655], [70.7299, 92.2041]];
// Lineup's DetectorOptions and AnalyzerOptions defaults (include/lineup/detector.h, analyzer.h).
const NET_W = 320, NET_H = 240, PAD = 127, TILE_OVERLAP = 64, LEVEL_STEP = 2.5;
const THRESHOLD = 0.6, NMS_IOU = 0.4, CONTAIN = 0.6, MIN_FACE = 20, NET_MIN_FACE = 16, MAX_UPSCALE = 2;
const PHOTO_MIN_CONFIDENCE = 0.8;
const STAGES = ['decode', 'detect', 'landmarks', 'align', 'embed'];

function parseArgs(argv) {
  const a = { opt: 'all', workers: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    threads: 1, spin: 0, limit: Infinity, decoder: 'sharp', chunk: 4 };
  const ints = { '--limit': 'limit', '--workers': 'workers', '--threads': 'threads', '--chunk': 'chunk' };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i], v = argv[i + 1];
    if (v === undefined) throw new Error(`${k} needs a value`);
    if (k in ints) {
      a[ints[k]] = parseInt(v, 10);
      if (!(a[ints[k]] > 0)) throw new Error(`${k} must be a positive integer, not ${v}`);
    } else if (k === '--models') a.models = v;
    else if (k === '--list') a.list = v;
    else if (k === '--opt') a.opt = v;
    else if (k === '--decoder') a.decoder = v;
    else if (k === '--spin') a.spin = v === '1' ? 1 : 0;
    else if (k === '--json') a.json = v;
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.models || !a.list) {
    throw new Error('usage: node ort_pipeline.js --models DIR --list FILE [--limit N] [--workers N] [--threads N] ' +
      '[--opt disabled|basic|extended|all] [--decoder sharp|jpeg-js] [--chunk N] [--spin 0|1] [--json OUT.json]');
  }
  if (!['extended', 'all', 'basic', 'disabled'].includes(a.opt)) throw new Error(`bad --opt ${a.opt}`);
  if (!['sharp', 'jpeg-js'].includes(a.decoder)) throw new Error(`bad --decoder ${a.decoder}`);
  return a;
}

// ---------------------------------------------------------------------------------
// Image arithmetic on interleaved 8-bit RGB {width, height, data}.

// Bilinear sampling through an affine map (src = [ax bx cx; ay by cy] * [dx dy 1]) into
// `channels`-interleaved floats: 3 = RGB, 1 = grey (0.299 R + 0.587 G + 0.114 B).
// Outside the image: `fill` (a number), or the nearest border pixel when fill is null.
function affineSample(img, dw, dh, m, channels, fill) {
  const { width: W, height: H, data } = img;
  const [ax, bx, cx, ay, by, cy] = m;
  const out = new Float32Array(dw * dh * channels);
  let r = 0, g = 0, b = 0;
  // One source pixel's colour times w, added to r, g, b (border rule outside the image).
  const add = (xx, yy, w) => {
    if (xx < 0 || yy < 0 || xx >= W || yy >= H) {
      if (fill !== null) { r += fill * w; g += fill * w; b += fill * w; return; }
      xx = xx < 0 ? 0 : xx >= W ? W - 1 : xx; yy = yy < 0 ? 0 : yy >= H ? H - 1 : yy;
    }
    const i = (yy * W + xx) * 3;
    r += data[i] * w; g += data[i + 1] * w; b += data[i + 2] * w;
  };
  const row = W * 3;
  for (let y = 0, o = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++, o += channels) {
      const sx = ax * x + bx * y + cx, sy = ay * x + by * y + cy;
      const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
      const w00 = (1 - fx) * (1 - fy), w10 = fx * (1 - fy), w01 = (1 - fx) * fy, w11 = fx * fy;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {  // all four inside: the common case
        const i = (y0 * W + x0) * 3, j = i + row;
        r = data[i] * w00 + data[i + 3] * w10 + data[j] * w01 + data[j + 3] * w11;
        g = data[i + 1] * w00 + data[i + 4] * w10 + data[j + 1] * w01 + data[j + 4] * w11;
        b = data[i + 2] * w00 + data[i + 5] * w10 + data[j + 2] * w01 + data[j + 5] * w11;
      } else {
        r = g = b = 0;
        add(x0, y0, w00); add(x0 + 1, y0, w10); add(x0, y0 + 1, w01); add(x0 + 1, y0 + 1, w11);
      }
      if (channels === 1) out[o] = 0.299 * r + 0.587 * g + 0.114 * b;
      else { out[o] = r; out[o + 1] = g; out[o + 2] = b; }
    }
  }
  return out;
}

// The photo scaled by f with libvips (which box-shrinks before a linear reduce when
// shrinking, close to Lineup's area averaging).
async function scaled(sharp, img, f) {
  const w = Math.max(1, Math.round(img.width * f)), h = Math.max(1, Math.round(img.height * f));
  if (w === img.width && h === img.height) return img;
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(w, h, { fit: 'fill', kernel: 'linear' }).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

// Scaling without sharp (the jpeg-js configuration): bilinear, pixel centres aligned.
function scaledJs(img, f) {
  const w = Math.max(1, Math.round(img.width * f)), h = Math.max(1, Math.round(img.height * f));
  const sx = img.width / w, sy = img.height / h;
  const v = affineSample(img, w, h, [sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5], 3, null);
  return { width: w, height: h, data: Uint8Array.from(v, (x) => Math.round(x)) };
}

// A NET_W x NET_H network input: the region (x, y, w, h) of `img` at the top left, the
// rest neutral; planar RGB, (v - 127) / 128.
function netInput(ort, img, x, y, w, h) {
  const n = NET_W * NET_H, t = new Float32Array(3 * n);
  const { width: W, data } = img;
  for (let yy = 0; yy < NET_H; yy++) {
    for (let xx = 0; xx < NET_W; xx++) {
      const i = yy * NET_W + xx;
      if (xx < w && yy < h) {
        const s = ((y + yy) * W + (x + xx)) * 3;
        t[i] = (data[s] - 127) / 128; t[n + i] = (data[s + 1] - 127) / 128; t[2 * n + i] = (data[s + 2] - 127) / 128;
      } else {
        t[i] = t[n + i] = t[2 * n + i] = (PAD - 127) / 128;
      }
    }
  }
  return new ort.Tensor('float32', t, [1, 3, NET_H, NET_W]);
}

function overlap(a, b) {  // [iou, intersection / smaller area] of {x, y, w, h} boxes
  const iw = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const ih = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (iw <= 0 || ih <= 0) return [0, 0];
  const inter = iw * ih, sa = a.w * a.h, sb = b.w * b.h;
  return [inter / (sa + sb - inter), inter / Math.max(1e-6, Math.min(sa, sb))];
}

class Pipeline {
  constructor(ort, sharp, sessions) {
    this.ort = ort; this.sharp = sharp;
    [this.det, this.lmk, this.feat] = sessions;
  }

  async scale(img, f) { return this.sharp ? scaled(this.sharp, img, f) : scaledJs(img, f); }

  // One network pass over `input`; kept boxes mapped to photo pixels through view
  // {scale, ox, oy, tiled, cut: [l, t, r, b], vw, vh}.
  async runNet(input, v, found) {
    const out = await this.det.run({ input });
    const s = out.scores.data, b = out.boxes.data, n = s.length / 2, edge = 2;
    for (let i = 0; i < n; i++) {
      const conf = s[2 * i + 1];
      if (conf < THRESHOLD) continue;
      const x1 = b[4 * i] * NET_W, y1 = b[4 * i + 1] * NET_H, x2 = b[4 * i + 2] * NET_W, y2 = b[4 * i + 3] * NET_H;
      if (x2 - x1 < 2 || y2 - y1 < 2) continue;
      if (v.tiled && y2 - y1 > TILE_OVERLAP) continue;
      if ((v.cut[0] && x1 < edge) || (v.cut[1] && y1 < edge) || (v.cut[2] && x2 > v.vw - edge) ||
          (v.cut[3] && y2 > v.vh - edge)) continue;
      found.push({ conf, x: x1 / v.scale + v.ox, y: y1 / v.scale + v.oy, w: (x2 - x1) / v.scale, h: (y2 - y1) / v.scale });
    }
  }

  async wholeFrame(img, margin, found) {
    const mx = Math.trunc(img.width * margin), my = Math.trunc(img.height * margin);
    const cw = img.width + 2 * mx, ch = img.height + 2 * my;
    const f = Math.min(NET_W / cw, NET_H / ch, 4);
    const w = Math.min(NET_W, Math.max(1, Math.round(cw * f))), h = Math.min(NET_H, Math.max(1, Math.round(ch * f)));
    let src = img;
    if (margin > 0) {  // the photo inside a neutral border
      const data = new Uint8Array(cw * ch * 3).fill(PAD);
      for (let y = 0; y < img.height; y++) {
        data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((y + my) * cw + mx) * 3);
      }
      src = { width: cw, height: ch, data };
    }
    const small = await this.scale(src, w / cw);
    const scale = w / cw;
    await this.runNet(netInput(this.ort, small, 0, 0, Math.min(w, small.width), Math.min(h, small.height)),
      { scale, ox: -mx, oy: -my, tiled: false, cut: [0, 0, 0, 0], vw: NET_W, vh: NET_H }, found);
  }

  async tiles(img, f, found) {
    const s = await this.scale(img, f), fx = s.width / img.width;
    const sx = NET_W - TILE_OVERLAP, sy = NET_H - TILE_OVERLAP;
    for (let ty = 0; ; ty += sy) {
      const th = Math.min(NET_H, s.height - ty);
      for (let tx = 0; ; tx += sx) {
        const tw = Math.min(NET_W, s.width - tx);
        await this.runNet(netInput(this.ort, s, tx, ty, tw, th), {
          scale: fx, ox: tx / fx, oy: ty / fx, tiled: true,
          cut: [tx > 0, ty > 0, tx + tw < s.width, ty + th < s.height], vw: tw, vh: th,
        }, found);
        if (tx + tw >= s.width) break;
      }
      if (ty + th >= s.height) break;
    }
  }

  async detect(img) {
    const found = [];
    const f0 = Math.min(NET_W / img.width, NET_H / img.height);
    await this.wholeFrame(img, 0, found);
    const target = Math.min(NET_MIN_FACE / MIN_FACE, MAX_UPSCALE);
    for (let f = f0 * LEVEL_STEP; f0 * 1.25 < target; f *= LEVEL_STEP) {
      const level = Math.min(f, target);
      await this.tiles(img, level, found);
      if (level >= target) break;
    }
    if (!found.length) await this.wholeFrame(img, 0.4, found);
    found.sort((a, b) => b.conf - a.conf);  // stable
    const kept = [];
    for (const d of found) {
      if (kept.some((k) => { const [iou, inside] = overlap(d, k); return iou > NMS_IOU || inside > CONTAIN; })) continue;
      kept.push(d);
    }
    const faces = [];
    for (const k of kept) {  // clipped to the photo
      const x1 = Math.max(k.x, 0), y1 = Math.max(k.y, 0);
      const x2 = Math.min(k.x + k.w, img.width), y2 = Math.min(k.y + k.h, img.height);
      if (x2 - x1 >= 1 && y2 - y1 >= MIN_FACE) faces.push({ conf: k.conf, x: x1, y: y1, w: x2 - x1, h: y2 - y1 });
    }
    if (faces.length && Math.max(...faces.map((f) => f.conf)) < PHOTO_MIN_CONFIDENCE) return [];
    return faces;
  }

  async landmarks(img, f) {
    const side = f.h, sqx = f.x + f.w / 2 - side / 2, sqy = f.y, s = side / 64;
    const grey = affineSample(img, 64, 64, [s, 0, sqx + 0.5 * s - 0.5, 0, s, sqy + 0.5 * s - 0.5], 1, 0);
    for (let i = 0; i < grey.length; i++) grey[i] /= 256;
    const out = (await this.lmk.run({ input: new this.ort.Tensor('float32', grey, [1, 1, 64, 64]) })).output.data;
    const pts = new Float32Array(136);
    for (let i = 0; i < 68; i++) {
      pts[2 * i] = out[2 * i] * side + sqx;
      pts[2 * i + 1] = out[2 * i + 1] * side + sqy;
    }
    return pts;
  }

  // Least-squares similarity of the five points onto the template; the 112x112 crop
  // through its inverse, as a planar BGR tensor (v - 127) / 128.
  align(img, p) {
    const mean = (...idx) => [0, 1].map((k) => idx.reduce((s, i) => s + p[2 * i + k], 0) / idx.length);
    const src = [mean(36, 37, 38, 39, 40, 41), mean(42, 43, 44, 45, 46, 47), mean(30), mean(48, 60), mean(54, 64)];
    const n = 5;
    let msx = 0, msy = 0, mdx = 0, mdy = 0;
    for (let i = 0; i < n; i++) {
      msx += src[i][0] / n; msy += src[i][1] / n; mdx += TEMPLATE[i][0] / n; mdy += TEMPLATE[i][1] / n;
    }
    let na = 0, nb = 0, den = 0;
    for (let i = 0; i < n; i++) {
      const sx = src[i][0] - msx, sy = src[i][1] - msy, dx = TEMPLATE[i][0] - mdx, dy = TEMPLATE[i][1] - mdy;
      na += sx * dx + sy * dy; nb += sx * dy - sy * dx; den += sx * sx + sy * sy;
    }
    const a = na / den, b = nb / den, tx = mdx - (a * msx - b * msy), ty = mdy - (b * msx + a * msy);
    const d = a * a + b * b, ia = a / d, ib = b / d;
    const rgb = affineSample(img, 112, 112, [ia, ib, -(ia * tx + ib * ty), -ib, ia, ib * tx - ia * ty], 3, 0);
    const m = 112 * 112, t = new Float32Array(3 * m);
    for (let i = 0; i < m; i++) {
      t[i] = (rgb[3 * i + 2] - 127) / 128; t[m + i] = (rgb[3 * i + 1] - 127) / 128; t[2 * m + i] = (rgb[3 * i] - 127) / 128;
    }
    return new this.ort.Tensor('float32', t, [1, 3, 112, 112]);
  }

  async embed(input) {
    const v = Float32Array.from((await this.feat.run({ input })).output.data);
    let norm = 0;
    for (const x of v) norm += x * x;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < v.length; i++) v[i] /= norm;
    return v;
  }
}

async function decodeWith(decoder, sharp, jpeg, buf) {
  if (decoder === 'jpeg-js') {
    const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false });
    return { width: img.width, height: img.height, data: img.data };
  }
  const { data, info } = await sharp(buf).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
  return { width: info.width, height: info.height, data };
}

// ---------------------------------------------------------------------------------
// Worker: loads its sessions, says "ready", then asks for chunks until none are left.
async function workerMain() {
  const { models, opt, threads, spin, decoder } = workerData;
  const ort = require('onnxruntime-node');
  const sharp = decoder === 'sharp' ? require('sharp') : null;
  const jpeg = decoder === 'jpeg-js' ? require('jpeg-js') : null;
  if (sharp) { sharp.concurrency(1); sharp.cache(false); }
  const so = {
    graphOptimizationLevel: opt, intraOpNumThreads: threads, interOpNumThreads: 1,
    executionMode: 'sequential', executionProviders: ['cpu'],
    extra: { session: { intra_op: { allow_spinning: String(spin) } } },
  };
  const load = (name) => ort.InferenceSession.create(path.join(models, name), so);
  const sessions = [await load('fr_detect.onnx'), await load('fr_landmark.onnx'), await load('fr_feature.onnx')];
  const zeros = (...dims) => new ort.Tensor('float32', new Float32Array(dims.reduce((x, y) => x * y)), dims);
  await sessions[0].run({ input: zeros(1, 3, NET_H, NET_W) });
  await sessions[1].run({ input: zeros(1, 1, 64, 64) });
  await sessions[2].run({ input: zeros(1, 3, 112, 112) });
  const p = new Pipeline(ort, sharp, sessions);
  const stages = Object.fromEntries(STAGES.map((s) => [s, 0]));
  const clock = process.hrtime.bigint;

  async function one(file) {
    const buf = fs.readFileSync(file);
    let t = clock();
    const lap = (stage) => { const now = clock(); stages[stage] += Number(now - t) / 1e6; t = now; };
    const img = await decodeWith(decoder, sharp, jpeg, buf);
    lap('decode');
    const faces = await p.detect(img);
    lap('detect');
    let largest = null, largestArea = -1;
    for (const f of faces) {
      const pts = await p.landmarks(img, f);
      lap('landmarks');
      const input = p.align(img, pts);
      lap('align');
      const emb = await p.embed(input);
      lap('embed');
      if (f.w * f.h > largestArea) { largestArea = f.w * f.h; largest = emb; }
    }
    return { faces: faces.length, emb: largest };
  }

  parentPort.on('message', async (msg) => {
    if (msg.type === 'chunk') {
      const results = [];
      for (const [i, file] of msg.files) {
        try {
          results.push({ i, ...(await one(file)) });
        } catch (e) {
          results.push({ i, error: `${file}: ${e.message || e}` });
        }
      }
      parentPort.postMessage({ type: 'done', results });
    } else if (msg.type === 'stop') {
      parentPort.postMessage({ type: 'stages', stages });
      parentPort.close();
    }
  });
  parentPort.postMessage({ type: 'ready' });
}

function sanityCheck(files, results) {
  let same = 0, ns = 0, diff = 0, nd = 0;
  const withFace = results.map((r, i) => ({ r, person: path.basename(path.dirname(files[i])) })).filter((x) => x.r.emb);
  for (let i = 0; i < withFace.length; i++) {
    for (let j = i + 1; j < withFace.length; j++) {
      let dot = 0;
      const p = withFace[i].r.emb, q = withFace[j].r.emb;
      for (let k = 0; k < p.length; k++) dot += p[k] * q[k];
      if (withFace[i].person === withFace[j].person) { same += dot; ns++; } else { diff += dot; nd++; }
    }
  }
  const ms = ns ? same / ns : NaN, md = nd ? diff / nd : NaN;
  console.log(`cosine of the largest faces: same person ${ms.toFixed(3)} (${ns} pairs), different ${md.toFixed(3)} (${nd} pairs)`);
  if (ns && nd && !(ms > 0.4 && ms - md > 0.25)) {
    console.log('NOTE: same-person similarity is not clearly above different-person; the pipeline may be wrong');
  }
  return { same: ms, different: md };
}

async function main() {
  const t0 = process.hrtime.bigint();
  const args = parseArgs(process.argv);
  const files = fs.readFileSync(args.list, 'utf8').split('\n').map((s) => s.trim()).filter(Boolean)
    .slice(0, args.limit);
  if (!files.length) throw new Error(`no photos listed in ${args.list}`);
  for (const m of ['fr_detect.onnx', 'fr_landmark.onnx', 'fr_feature.onnx']) {
    if (!fs.existsSync(path.join(args.models, m))) throw new Error(`${path.join(args.models, m)} is missing`);
  }
  const ortVersion = require('onnxruntime-node').env.versions.node;
  const sharpVersion = args.decoder === 'sharp' ? require('sharp').versions : null;

  const results = new Array(files.length);
  const stages = Object.fromEntries(STAGES.map((s) => [s, 0]));
  let next = 0, ready = 0, tReady = null, errors = 0;
  await new Promise((resolve, reject) => {
    let stopped = 0;
    const workers = [];
    const feed = (w) => {
      if (next >= files.length) { w.postMessage({ type: 'stop' }); return; }
      const chunk = [];
      for (; chunk.length < args.chunk && next < files.length; next++) chunk.push([next, files[next]]);
      w.postMessage({ type: 'chunk', files: chunk });
    };
    for (let k = 0; k < args.workers; k++) {
      const w = new Worker(__filename, {
        workerData: { models: args.models, opt: args.opt, threads: args.threads, spin: args.spin, decoder: args.decoder },
      });
      workers.push(w);
      w.on('error', reject);
      w.on('message', (msg) => {
        if (msg.type === 'ready') {
          if (++ready === args.workers) {
            tReady = process.hrtime.bigint();
            for (const x of workers) feed(x);
          }
        } else if (msg.type === 'done') {
          for (const r of msg.results) {
            results[r.i] = r;
            if (r.error) { errors++; console.error(r.error); }
          }
          feed(w);
        } else if (msg.type === 'stages') {
          for (const s of STAGES) stages[s] += msg.stages[s];
          if (++stopped === args.workers) resolve();
        }
      });
    }
  });
  const t1 = process.hrtime.bigint();
  const n = files.length, wallS = Number(t1 - t0) / 1e9, steadyS = Number(t1 - tReady) / 1e9;
  const faces = results.reduce((s, r) => s + (r.faces || 0), 0);
  const withFace = results.filter((r) => r.faces > 0).length;
  const perPhoto = Object.fromEntries(STAGES.map((s) => [s, +(stages[s] / n).toFixed(3)]));
  const pps = n / wallS, steady = n / steadyS;
  console.log(`onnxruntime-node ${ortVersion}  workers=${args.workers} threads=${args.threads} opt=${args.opt} ` +
    `decoder=${args.decoder} spin=${args.spin}  photos=${n} with a face=${withFace} faces=${faces} errors=${errors}`);
  console.log('stage      ms/photo (summed over workers)');
  for (const s of STAGES) console.log(`${s.padEnd(10)} ${perPhoto[s].toFixed(3).padStart(10)}`);
  console.log(`end to end: ${(wallS * 1000).toFixed(0)} ms, ${pps.toFixed(2)} photos/s ` +
    `(start-up ${(Number(tReady - t0) / 1e6).toFixed(0)} ms; ${steady.toFixed(2)} photos/s after it)`);
  const cos = sanityCheck(files, results);
  if (errors) throw new Error(`${errors} photos failed`);

  if (args.json) {
    const report = {
      runtime: 'onnxruntime-node', version: ortVersion, opt: args.opt, workers: args.workers, threads: args.threads,
      spin: args.spin, decoder: args.decoder, decoder_version: sharpVersion ? `sharp ${sharpVersion.sharp}, libvips ${sharpVersion.vips}` : 'jpeg-js',
      photos: n, photos_with_face: withFace, faces, startup_ms: +(Number(tReady - t0) / 1e6).toFixed(1),
      photos_per_s: +pps.toFixed(3), steady_photos_per_s: +steady.toFixed(3), stages_ms_per_photo: perPhoto,
      cosine_same_person: cos.same, cosine_different_people: cos.different,
    };
    fs.writeFileSync(args.json, JSON.stringify(report, null, 2) + '\n');
  }
}

if (isMainThread) main().catch((e) => { console.error(e.message || e); process.exit(1); });
else workerMain().catch((e) => { console.error(e.message || e); process.exit(1); });
