// The Lineup web console end to end, in Debian's headless Chromium driven by
// playwright-core. Started by tests/e2e/run.sh, which builds a gallery of real photos,
// creates the users and starts `lineup serve`; everything comes in through the
// environment:
//
//   E2E_URL            the server, e.g. http://127.0.0.1:8123
//   E2E_ADMIN, E2E_ANALYST1, E2E_ANALYST2, E2E_AUDITOR   user names
//   E2E_PASSWORD_<ROLE...> the matching passwords (E2E_PASSWORD_ADMIN, _ANALYST1, ...)
//   E2E_PROBE          a photo of one person enrolled in the gallery
//   E2E_PROBE_GROUP    a photo with several faces
//   E2E_SOURCES        {"press": {"images": N, "faces": M}, "events": {...}}: what was enrolled
//   E2E_ARTIFACTS      where the screenshots go (PNG)
//   E2E_LINEUP         the lineup binary (checks downloaded evidence bundles; optional)
//   CHROMIUM           the browser (default /usr/bin/chromium)
//
// The story: an admin looks at users, tokens and sources; analyst 1 opens a case, adds
// analyst 2 to it, searches with real photos (a JPEG, a Netpbm copy, a group photo, a
// blurred copy too poor to decide on), compares, groups and reviews candidates, and is
// refused a text file; the case lists the searches, and a reopened search shows what was
// shown; analyst 2 confirms the possible match there; the auditor sees it all in the
// audit log and a verified hash chain. Screenshots are named after the items of issue
// #15 they show (docs/console.md). Throughout, any script error, CSP violation, console
// error or HTTP error response that a step did not provoke on purpose fails the step.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`console.test: the environment variable ${name} is not set (run tests/e2e/run.sh)`);
    process.exit(2);
  }
  return v;
}

const URL_ = need('E2E_URL').replace(/\/$/, '');
const users = {
  admin: { name: need('E2E_ADMIN'), password: need('E2E_PASSWORD_ADMIN') },
  analyst1: { name: need('E2E_ANALYST1'), password: need('E2E_PASSWORD_ANALYST1') },
  analyst2: { name: need('E2E_ANALYST2'), password: need('E2E_PASSWORD_ANALYST2') },
  auditor: { name: need('E2E_AUDITOR'), password: need('E2E_PASSWORD_AUDITOR') },
};
const PROBE = need('E2E_PROBE');
const PROBE_GROUP = need('E2E_PROBE_GROUP');
const SOURCES = JSON.parse(need('E2E_SOURCES'));
const ART = need('E2E_ARTIFACTS');
const LINEUP = process.env.E2E_LINEUP || '';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const LEAD = 'not identifications';
const ACCEPT = 'image/*,.pgm,.ppm,.pbm,.pnm,.pam,.pfm,.ras,.sr,.hdr,.pic,.jp2,.j2k,.j2c';
// How the console writes a rate: "1%", "0.35%", "1 in 170,000" (never 3.1e-05).
const RATE = /^(\d+(\.\d+)?%|1 in \d{1,3}(,\d{3})*|≈ 0)$/;

fs.mkdirSync(ART, { recursive: true });

let browser;
let page; // the page of the current step, for the failure screenshot
let stepName = '';
let shotNo = 0;
const problems = []; // from every page: script errors, CSP violations, console errors, HTTP errors
let expected = []; // [{method, path: RegExp, status}] that the current action provokes on purpose

function check(cond, message) {
  if (!cond) throw new Error(message);
}

async function shot(name, locator = null) {
  const file = path.join(ART, `${String(++shotNo).padStart(2, '0')}-${name}.png`);
  if (locator) await locator.screenshot({ path: file });
  else await page.screenshot({ path: file, fullPage: true });
  console.log(`  screenshot ${file}`);
}

async function step(name, fn) {
  stepName = name;
  const t0 = Date.now();
  console.log(`- ${name}`);
  await fn();
  check(problems.length === 0, `the browser reported problems:\n  ${problems.join('\n  ')}`);
  console.log(`  ok (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

// Runs `fn` while the listed error responses are expected (a deliberate error case).
async function expecting(list, fn) {
  expected = list;
  try {
    await fn();
  } finally {
    expected = [];
  }
}

function isExpected(method, url, status) {
  const p = new URL(url).pathname;
  return expected.some((e) => (!method || !e.method || e.method === method) && e.path.test(p) && e.status === status);
}

// Reports whatever a page does wrong: script errors, CSP violations, console errors and
// HTTP errors, except the ones a step expects.
function watch(p, who) {
  p.on('pageerror', (e) => problems.push(`[${who}] page error: ${e.message}`));
  p.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    const status = Number((/status of (\d{3})/.exec(text) || [])[1]);
    const url = (m.location() && m.location().url) || '';
    if (status && url && isExpected(null, url, status)) return;
    problems.push(`[${who}] console error: ${text}${url ? ` (${url})` : ''}`);
  });
  p.on('response', (res) => {
    if (res.status() >= 400 && !isExpected(res.request().method(), res.url(), res.status())) {
      problems.push(`[${who}] ${res.request().method()} ${res.url()} answered ${res.status()}`);
    }
  });
  // A justification never travels in a URL (proxies, logs and browser history keep URLs).
  p.on('request', (req) => {
    if (new URL(req.url()).searchParams.has('justification')) problems.push(`[${who}] ${req.method()} ${req.url()} carries a justification in its URL`);
  });
  p.on('requestfailed', (req) => {
    const why = (req.failure() && req.failure().errorText) || '';
    if (!/ERR_ABORTED/.test(why)) problems.push(`[${who}] ${req.method()} ${req.url()} failed: ${why}`);
  });
}

async function newPage(who) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await ctx.newPage();
  page.setDefaultTimeout(20000);
  watch(page, who);
  return ctx;
}

// A fresh browser context (its own cookies) signed in as `who`.
async function signIn(who, expectNav) {
  const ctx = await newPage(who.name);
  await page.goto(`${URL_}/`);
  await page.waitForURL(/#\/login$/);
  await page.getByLabel('Name').fill(who.name);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#whoami-name').filter({ hasText: who.name }).waitFor();
  await page.waitForURL((u) => u.hash !== '#/login');
  const nav = (await page.locator('#nav a').allTextContents()).map((s) => s.trim());
  check(JSON.stringify(nav) === JSON.stringify(expectNav),
    `${who.name}'s navigation is ${JSON.stringify(nav)}, expected ${JSON.stringify(expectNav)}`);
  return ctx;
}

async function signOut(ctx) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/#\/login$/);
  await page.getByText('You are signed out.').waitFor();
  // The session is gone on the server too.
  const res = await page.request.get(`${URL_}/v1/me`);
  check(res.status() === 401, `GET /v1/me after signing out answered ${res.status()}, expected 401`);
  await ctx.close();
}

// Presses an evidence export form's button and checks the ZIP it saves: a bundle that
// `lineup evidence verify` finds intact, whose manifest's SHA-256 the page shows.
// keptProbe: the searches whose probe photo the case keeps, and that photo's file.
const keptProbe = { searches: [], file: '' };
async function exportEvidence(prefix, caseId, file) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.locator(`#${prefix}-button`).click()]);
  check(dl.suggestedFilename() === `case-${caseId}-evidence.zip`, `the download is named ${dl.suggestedFilename()}`);
  const zip = path.join(ART, file);
  await dl.saveAs(zip);
  const sha = (await page.locator(`#${prefix}-sha`).textContent()).trim();
  check(/^[0-9a-f]{64}$/.test(sha), `the page shows the manifest SHA-256 as "${sha}"`);
  const bytes = fs.readFileSync(zip);
  check(bytes.subarray(0, 2).toString() === 'PK', 'the download is not a ZIP');
  if (LINEUP) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineup-e2e-bundle-'));
    try {
      execFileSync('unzip', ['-q', zip, '-d', dir]);
      const bundle = path.join(dir, `case-${caseId}-evidence`);
      const key = JSON.parse(await (await page.request.get(`${URL_}/v1/signing-key`)).text()).public_key;
      const v = JSON.parse(execFileSync(LINEUP, ['evidence', 'verify', bundle, '--key', key, '--json']).toString());
      check(v.ok === true && v.case_id === Number(caseId), `the bundle does not verify: ${JSON.stringify(v.problem)}`);
      const manifest = fs.readFileSync(path.join(bundle, 'manifest.json'));
      check(crypto.createHash('sha256').update(manifest).digest('hex') === sha, 'the manifest is not the one the page names');
      const report = fs.readFileSync(path.join(bundle, 'report.html'), 'utf8');
      check(report.includes('not identifications'), 'the report lacks the notice');
      // The photo the case was asked to keep is in the bundle, byte for byte, and only that one.
      const record = JSON.parse(fs.readFileSync(path.join(bundle, 'case.json'), 'utf8'));
      const photos = record.searches.filter((s) => s.probe_photo).map((s) => s.id);
      check(JSON.stringify(photos) === JSON.stringify(keptProbe.searches),
        `the bundle keeps the probe photos of searches ${JSON.stringify(photos)}, expected ${JSON.stringify(keptProbe.searches)}`);
      for (const s of record.searches.filter((x) => x.probe_photo)) {
        const kept = fs.readFileSync(path.join(bundle, s.probe_photo));
        check(kept.equals(fs.readFileSync(keptProbe.file)), `${s.probe_photo} is not the probe photo sent`);
        check(report.includes(`href="${s.probe_photo}"`), `the report does not link ${s.probe_photo}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return sha;
}

async function apiGet(p, headers = {}) {
  const res = await page.request.get(`${URL_}${p}`, { headers });
  check(res.ok(), `GET ${p} answered ${res.status()}`);
  return res.json();
}

// A read of persons or the network in a case: the case and the justification go in
// headers, never in the URL.
function inCase(caseId, why = 'e2e check') {
  return { 'X-Lineup-Case': String(caseId), 'X-Lineup-Justification': encodeURIComponent(why) };
}

// Probe files made from the probe photo by the browser itself (no image tool needed):
// a binary PPM (Netpbm) copy at half size, and a copy blurred until its quality is
// below the decision floor.
async function makeProbes() {
  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  await p.setContent('<!doctype html><title>probes</title>');
  const src = fs.readFileSync(PROBE).toString('base64');
  const out = await p.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/jpeg;base64,${b64}`;
    await img.decode();
    const toB64 = (bytes) => {
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(s);
    };
    const w = Math.round(img.naturalWidth / 2);
    const hh = Math.round(img.naturalHeight / 2);
    const c = document.createElement('canvas');
    c.width = w;
    c.height = hh;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0, w, hh);
    const rgba = g.getImageData(0, 0, w, hh).data;
    const header = new TextEncoder().encode(`P6\n${w} ${hh}\n255\n`);
    const ppm = new Uint8Array(header.length + w * hh * 3);
    ppm.set(header);
    for (let i = 0, j = header.length; i < rgba.length; i += 4) {
      ppm[j++] = rgba[i];
      ppm[j++] = rgba[i + 1];
      ppm[j++] = rgba[i + 2];
    }
    const b = document.createElement('canvas');
    b.width = img.naturalWidth;
    b.height = img.naturalHeight;
    const bg = b.getContext('2d');
    bg.filter = 'blur(12px)';
    bg.drawImage(img, 0, 0);
    // The same face twice, side by side: one photo, so two people to Lineup.
    const t = document.createElement('canvas');
    t.width = 2 * img.naturalWidth;
    t.height = img.naturalHeight;
    const tg = t.getContext('2d');
    tg.drawImage(img, 0, 0);
    tg.drawImage(img, img.naturalWidth, 0);
    return { ppm: toB64(ppm), blurred: b.toDataURL('image/png').split(',')[1], twice: t.toDataURL('image/jpeg', 0.92).split(',')[1] };
  }, src);
  await ctx.close();
  return { ppm: Buffer.from(out.ppm, 'base64'), blurred: Buffer.from(out.blurred, 'base64'),
    twice: Buffer.from(out.twice, 'base64') };
}

// Waits for a search's answer while `action` runs; returns its JSON.
async function searchAnswer(caseId, action) {
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/v1/cases/${caseId}/searches`) && r.request().method() === 'POST', { timeout: 60000 }),
    action(),
  ]);
  check(res.status() === 200, `the search answered ${res.status()}: ${await res.text()}`);
  const r = await res.json();
  await page.getByRole('heading', { name: `Results of search #${r.search_id}` }).waitFor();
  return r;
}

// The candidate cards in rank order: face ids, ranks, status and FPIR as shown.
async function cardsShown() {
  return page.locator('#cands-by-rank > li').evaluateAll((lis) => lis.map((li) => ({
    face: Number(li.getAttribute('data-face')),
    rank: li.querySelector('.rank-no').textContent.trim(),
    status: li.querySelector('.status').textContent.trim(),
    fpir: li.querySelector('.fpir-value').textContent.trim(),
  })));
}

async function imageLoaded(img) {
  return img.evaluate((i) => (i.complete && i.naturalWidth > 0)
    ? true
    : new Promise((resolve) => {
      i.addEventListener('load', () => resolve(i.naturalWidth > 0));
      i.addEventListener('error', () => resolve(false));
      setTimeout(() => resolve(i.complete && i.naturalWidth > 0), 10000);
    }));
}

async function main() {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  console.log(`Chromium ${browser.version()}, server ${URL_}`);
  const probes = await makeProbes();
  let caseId = 0;
  let exportSha = ''; // the manifest's SHA-256 of analyst 2's evidence export
  let caseTitle = '';
  let firstSearch = null; // the answer to the first search, and its cards as shown
  let firstCards = [];

  await step('item 8: loading the console signed out asks GET /v1/session, no 401; a wrong password is refused', async () => {
    const ctx = await newPage('anonymous');
    const [session] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/session' && r.request().method() === 'GET'),
      page.goto(`${URL_}/`),
    ]);
    check(session.status() === 200 && (await session.json()).signed_in === false,
      `GET /v1/session answered ${session.status()} ${await session.text()}`);
    await page.waitForURL(/#\/login$/);
    await page.getByLabel('Name').fill(users.analyst1.name);
    await page.getByLabel('Password').fill('not-the-password');
    await expecting([{ method: 'POST', path: /^\/v1\/session$/, status: 401 }], async () => {
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('.form-error').filter({ hasText: /\S/ }).waitFor();
    });
    await shot('login-refused');
    await ctx.close();
  });

  await step('admin: users and tokens; item 1: images and faces per source', async () => {
    const ctx = await signIn(users.admin, ['Cases', 'Audit', 'Users & tokens', 'Sources', 'Enrol photos']);
    await page.getByRole('link', { name: 'Users & tokens' }).click();
    await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();
    for (const u of Object.values(users)) {
      check(await page.getByRole('cell', { name: u.name, exact: true }).count() === 1, `user ${u.name} is not listed`);
    }
    await page.locator('#nt-user').selectOption(users.auditor.name);
    await page.locator('#nt-label').fill('e2e audit export');
    await page.getByRole('button', { name: 'Issue token' }).click();
    const secret = (await page.locator('#token-secret').textContent()) || '';
    check(/^lu_/.test(secret), `the new token's secret is "${secret}", expected lu_...`);
    await page.getByRole('cell', { name: 'e2e audit export' }).waitFor();
    await shot('admin-users-tokens');

    await page.getByRole('link', { name: 'Sources' }).click();
    await page.getByRole('heading', { name: 'Add a source' }).waitFor();
    const heads = (await page.locator('#sources-table thead th').allTextContents()).map((s) => s.trim());
    const col = (name) => heads.indexOf(name) + 1;
    check(col('Images') > 0 && col('Faces') > 0, `the sources table has no Images and Faces columns: ${heads.join(', ')}`);
    for (const [name, want] of Object.entries(SOURCES)) {
      const row = page.locator('#sources-table tbody tr').filter({ has: page.getByRole('cell', { name, exact: true }) });
      check(await row.count() === 1, `source "${name}" is not listed once`);
      const images = (await row.locator(`td:nth-child(${col('Images')})`).textContent()).trim();
      const faces = (await row.locator(`td:nth-child(${col('Faces')})`).textContent()).trim();
      check(images === want.images.toLocaleString('en-US') && faces === want.faces.toLocaleString('en-US'),
        `source ${name} shows ${images} images and ${faces} faces; ${want.images} and ${want.faces} were enrolled`);
    }
    check(SOURCES.events.images !== SOURCES.events.faces, 'the events source should hold more faces than images');
    await shot('item01-sources');
    await signOut(ctx);
  });

  let ctx1;
  await step('analyst 1: a reload keeps the session without a 401 (item 8); open a case; item 7: add analyst 2 from a list', async () => {
    ctx1 = await signIn(users.analyst1, ['Cases', 'Sources']);
    await page.waitForURL(/#\/cases$/);
    await page.reload();
    await page.locator('#whoami-name').filter({ hasText: users.analyst1.name }).waitFor();
    await page.getByRole('heading', { name: 'Cases', exact: true }).waitFor();
    caseTitle = `Robbery at 5 Example Street (${new Date().toISOString().slice(0, 16)})`;
    await page.getByLabel('Title').fill(caseTitle);
    await page.getByLabel('Authority').fill('Warrant 2024/117, Example District Court');
    await page.getByRole('button', { name: 'Open case' }).click();
    await page.waitForURL(/#\/cases\/\d+$/);
    caseId = Number(page.url().match(/#\/cases\/(\d+)$/)[1]);
    await page.getByRole('heading', { name: new RegExp(`Case #${caseId}:`) }).waitFor();
    const pick = page.locator('#member-name');
    check(await pick.evaluate((el) => el.tagName) === 'SELECT', 'the analyst to add is not chosen from a list');
    check((await page.locator('label[for="member-name"]').textContent()).startsWith('Analyst'), 'the list has no label');
    const offered = (await pick.locator('option').evaluateAll((os) => os.map((o) => o.value))).filter(Boolean);
    check(offered.includes(users.analyst2.name), `analyst 2 is not offered: ${offered.join(', ')}`);
    check(!offered.includes(users.analyst1.name), 'analyst 1, already a member, is offered');
    check(!offered.includes(users.admin.name) && !offered.includes(users.auditor.name), `non-analysts are offered: ${offered.join(', ')}`);
    await pick.selectOption(users.analyst2.name);
    await shot('item07-add-analyst');
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.getByText(`${users.analyst2.name} is now a member of case #${caseId}`).waitFor();
    const members = await page.locator('#case-members').textContent();
    check(members.includes(users.analyst2.name), `members are "${members}", expected ${users.analyst2.name} among them`);
    await page.getByText('Every active analyst is already a member of this case.').waitFor();
  });

  await step('analyst 1: search with a real photo; item 4: the results as an investigator reads them', async () => {
    await page.getByRole('link', { name: 'New search' }).click();
    await page.waitForURL(new RegExp(`#/cases/${caseId}/search$`));
    const search = page.getByRole('button', { name: 'Search', exact: true });
    check(await page.locator('#probe-file').getAttribute('accept') === ACCEPT, 'the file picker does not accept the server\'s formats');
    check(await search.isDisabled(), 'Search is enabled before a photo is chosen');
    await page.locator('#probe-file').setInputFiles(PROBE);
    await page.locator('img.preview').waitFor();
    // No justification: refused in the page, nothing is sent.
    await search.click();
    await page.locator('.form-error').filter({ hasText: 'justification is required' }).waitFor();
    await page.getByLabel('Justification').fill('Suspect caught on the shop camera during the robbery; looking for leads.');
    await page.getByText('Search options').click();
    await page.getByLabel('Also show candidates that are not leads').check();
    check(await page.getByLabel(/Group the candidates by known subject/).isChecked(), 'grouping by subject is not asked for');
    firstSearch = await searchAnswer(caseId, () => search.click());
    check((await page.locator('#lead-notice').textContent()).includes(LEAD), 'no lead notice');
    // The decision, plainly.
    const decision = (await page.locator('#decision-text').textContent()).trim();
    const wantDecision = new RegExp(`^threshold ${firstSearch.decision.threshold.toFixed(4)}: at most 1% of searches for someone `
      + `not in the gallery return a lead like this, for ${firstSearch.gallery_size} faces\\.$`);
    check(wantDecision.test(decision), `the decision reads "${decision}"`);
    check((await page.locator('#lead-count').textContent()).includes(`${firstSearch.leads} candidate`), 'the number of leads is not stated');
    // Cards: rank numbers, LEAD / below threshold, FPIR as people write it.
    firstCards = await cardsShown();
    check(firstCards.length === firstSearch.candidates.length, `${firstCards.length} cards for ${firstSearch.candidates.length} candidates`);
    firstCards.forEach((c, i) => {
      const cd = firstSearch.candidates[i];
      check(c.face === cd.face_id && c.rank === `#${cd.rank}`, `card ${i + 1} is ${c.rank} face ${c.face}, expected #${cd.rank} face ${cd.face_id}`);
      check(c.status === (cd.withheld ? 'WITHHELD' : cd.above_threshold ? 'LEAD' : 'below threshold'), `card ${c.rank} is marked "${c.status}"`);
      check(RATE.test(c.fpir), `card ${c.rank}'s FPIR reads "${c.fpir}"`);
    });
    check(firstCards[0].status === 'LEAD', `the first candidate is "${firstCards[0].status}", expected a LEAD`);
    check(firstCards.some((c) => c.status === 'below threshold'), 'no candidate below the threshold is shown (all=true)');
    const sci = /\S*\de-\d\S*/.exec(await page.locator('#results').textContent());
    check(!sci, `a number in scientific notation is shown: ${sci}`);
    // Provenance folded away; the path shortened in the middle, whole in the title, on one line.
    const first = page.locator('#cands-by-rank > li').first();
    check(!(await first.locator('details.provenance').evaluate((d) => d.open)), 'the provenance is not folded');
    await first.locator('details.provenance summary').click();
    for (const label of ['Image', 'Source', 'Legal basis']) {
      check(await first.locator('dt', { hasText: label }).count() === 1, `the provenance has no "${label}"`);
    }
    const p = first.locator('.path');
    const full = await p.getAttribute('title');
    const text = await p.textContent();
    check(full === firstSearch.candidates[0].image.uri, `the path's title is "${full}"`);
    check(full.length <= text.length || (text.includes('…') && text.length < full.length), `the path reads "${text}"`);
    check(await p.evaluate((el) => el.getClientRects().length === 1 && el.getBoundingClientRect().height < 30),
      'the image path wraps over several lines');
    check(await p.evaluate((el) => el.scrollWidth <= el.clientWidth), `the image path "${text}" overflows its box`);
    check(await imageLoaded(first.locator('img.thumb')), 'the first candidate\'s face crop did not load');
    check((await first.locator('.subject strong').textContent()).trim() === (firstSearch.candidates[0].subject || 'unnamed'), 'the subject is not shown');
    await shot('item04-results');
    // Issue 17: the model's demographic differentials at this threshold, in one sentence
    // from the server, linked to the full table.
    const diff = firstSearch.decision.differentials;
    check(diff && typeof diff.text === 'string', 'the search decision carries no differentials');
    const statement = page.locator('#differentials-statement');
    const said = (await statement.textContent()).trim();
    check(said.includes(diff.text), `the differentials statement reads "${said}", expected "${diff.text}"`);
    check(/^On LFW, at this threshold/.test(diff.text) && /false-match rate for (female|male) faces is \d/.test(diff.text),
      `the differentials statement is "${diff.text}"`);
    await shot('issue17-differentials-statement', page.locator('#decision'));
    const href = await page.locator('#differentials-link').getAttribute('href');
    check(href.startsWith('#/differentials?threshold='), `the statement links to "${href}"`);
    const tablePage = await page.context().newPage();
    await tablePage.goto(page.url().split('#')[0] + href);
    await tablePage.locator('#differentials-table').waitFor();
    const rows = await tablePage.locator('#differentials-table tbody tr').count();
    check(rows === 4, `the differentials table has ${rows} rows, expected FMR 1e-3, 1e-4, 1e-5 and this decision`);
    check((await tablePage.locator('#differentials-current').textContent()).trim() === diff.text,
      'the table page does not repeat the statement at the decision\'s threshold');
    const tableFile = path.join(ART, `${String(++shotNo).padStart(2, '0')}-issue17-differentials-table.png`);
    await tablePage.screenshot({ path: tableFile, fullPage: true });
    console.log(`  screenshot ${tableFile}`);
    await tablePage.close();
    // Side by side: click the second card.
    await page.locator('#cands-by-rank > li').nth(1).locator('.quality').click();
    await page.locator('#compare-h').filter({ hasText: 'rank 2' }).waitFor();
    const drawn = await page.locator('#compare-probe').evaluate((c) => {
      if (c.tagName !== 'CANVAS' || !c.width) return false;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let sum = 0;
      for (let i = 0; i < d.length; i += 4) sum += Math.abs(d[i] - d[0]) + Math.abs(d[i + 1] - d[1]);
      return sum > 0; // not a flat fill
    });
    check(drawn, 'the probe face is not drawn in the side-by-side view');
    check(await imageLoaded(page.locator('#compare-candidate')), 'the candidate is not shown in the side-by-side view');
    const facts = await page.locator('#compare-facts').textContent();
    check(facts.includes(`Score ${firstSearch.candidates[1].score.toFixed(3)}`) && facts.includes(`FPIR ${firstCards[1].fpir}`),
      `the side-by-side view reads "${facts}"`);
    check(await page.locator('#cands-by-rank > li').nth(1).locator('.compare-btn').getAttribute('aria-pressed') === 'true',
      'the compared card is not marked');
    const size = await page.locator('#compare-candidate').evaluate((i) => i.getBoundingClientRect().width);
    check(size >= 200, `the candidate in the side-by-side view is ${size}px wide`);
    await shot('item04-side-by-side', page.locator('.probe-panel'));
    // Grouped by subject, as the CLI's --subjects.
    await page.getByLabel('grouped by subject').check();
    await page.locator('#cands-by-subject').waitFor();
    check(firstSearch.subjects.length > 0, 'the search answered no subjects');
    for (const s of firstSearch.subjects) {
      const g = page.locator(`.subject-group[data-subject="${s.subject}"]`);
      check(await g.count() === 1, `no group for subject ${s.subject}`);
      const faces = await g.locator('li.cand').evaluateAll((lis) => lis.map((li) => Number(li.getAttribute('data-face'))));
      check(faces[0] === s.best, `subject ${s.subject}'s group starts with face ${faces[0]}, not its best face ${s.best}`);
      const shownFaces = s.faces.filter((f) => firstSearch.candidates.some((c) => c.face_id === f));
      check(JSON.stringify([...faces].sort()) === JSON.stringify([...shownFaces].sort()),
        `subject ${s.subject}'s group holds faces ${faces}, expected ${shownFaces}`);
    }
    const multi = firstSearch.subjects.find((s) => s.faces.length > 1);
    check(multi, 'no subject with several faces among the candidates');
    await shot('item04-by-subject');
    await page.getByLabel('in rank order').check();
    await page.locator('#cands-by-rank').waitFor();
  });

  await step('analyst 1: item 5: reviews, the chosen verdict marked and the review boxes aligned', async () => {
    const cards = page.locator('#cands-by-rank > li');
    const first = cards.first();
    await first.getByLabel('Note').fill('Same ear shape and hairline as on the camera still.');
    await first.getByRole('button', { name: 'Possible match' }).click();
    await first.getByText(/Recorded as a possible match \(review #\d+\)/).waitFor();
    const second = cards.nth(1);
    await second.getByRole('button', { name: 'Not a match' }).click();
    await second.getByText(/Recorded: not a match/).waitFor();
    await second.getByRole('button', { name: 'Inconclusive' }).click();
    await second.getByText(/Recorded: inconclusive/).waitFor();
    const pressed = async (card) => card.locator('button.verdict').evaluateAll((bs) => bs
      .filter((b) => b.getAttribute('aria-pressed') === 'true').map((b) => b.getAttribute('data-verdict')));
    check(JSON.stringify(await pressed(first)) === '["possible_match"]', `the first card's chosen verdicts: ${await pressed(first)}`);
    check(JSON.stringify(await pressed(second)) === '["inconclusive"]', `the second card's chosen verdicts: ${await pressed(second)}`);
    check((await first.locator('.my-verdict').textContent()).includes('Your verdict: Possible match (review #'), 'the chosen verdict is not named');
    const tick = await first.locator('button.verdict[aria-pressed="true"] .tick').evaluate((t) => getComputedStyle(t).display);
    check(tick !== 'none', 'the chosen verdict has no tick');
    // The review boxes of the first row of cards start at the same height.
    const boxes = await cards.evaluateAll((lis) => lis.map((li) => {
      const c = li.getBoundingClientRect();
      return { top: Math.round(c.top), review: Math.round(li.querySelector('fieldset.review').getBoundingClientRect().top) };
    }));
    const row = boxes.filter((b) => b.top === boxes[0].top);
    check(row.length > 1, 'the first row holds one card');
    check(row.every((b) => Math.abs(b.review - row[0].review) <= 1), `the review boxes are not aligned: ${JSON.stringify(row)}`);
    await shot('item05-reviews', page.locator('#cands-by-rank'));
  });

  await step('analyst 1: item 2: a text file after a search is refused, and Search then searches nothing', async () => {
    const before = (await apiGet(`/v1/cases/${caseId}`)).searches.length;
    check(before === 1, `${before} searches before, expected 1`);
    await page.locator('#probe-file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a photo\n') });
    await page.locator('#search-form .form-error').filter({ hasText: 'notes.txt is not a photo' }).waitFor();
    const search = page.getByRole('button', { name: 'Search', exact: true });
    check(await search.isDisabled(), 'Search is enabled after a refused file');
    check(await page.locator('img.preview').isHidden(), 'the previous photo is still previewed');
    check((await page.locator('#probe-file-status').textContent()).trim() === 'No photo chosen.', 'a photo is still named as chosen');
    await shot('item02-refused-file');
    await page.getByLabel('Justification').fill('A different justification that must not be used for the old photo.');
    // Submitting the form anyway (Enter, a script): nothing is searched.
    await page.locator('#search-form').evaluate((f) => f.requestSubmit());
    await page.locator('#search-form .form-error').filter({ hasText: 'Choose a probe photo first' }).waitFor();
    await page.waitForTimeout(500);
    const after = await apiGet(`/v1/cases/${caseId}`);
    check(after.searches.length === before, `${after.searches.length} searches after pressing Search with a refused file, expected ${before}`);
  });

  await step('analyst 1: item 10: a Netpbm photo the browser calls application/octet-stream', async () => {
    await page.locator('#probe-file').setInputFiles({ name: 'camera-still.ppm', mimeType: 'application/octet-stream', buffer: probes.ppm });
    await page.locator('#no-preview').filter({ hasText: 'No preview for this format: camera-still.ppm' }).waitFor();
    check(await page.locator('#search-form .form-error').isHidden(), 'the PPM file was refused');
    await page.getByLabel('Justification').fill('The same camera still, as the PPM the camera software exported.');
    const r = await searchAnswer(caseId, () => page.getByRole('button', { name: 'Search', exact: true }).click());
    check(r.probe.name === 'camera-still.ppm' && r.candidates.length > 0, `the PPM search answered ${JSON.stringify(r.probe)}`);
    check(await page.locator('#probe-canvas').evaluate((c) => c.width > 0), 'the faces of the PPM photo are not drawn');
    await page.getByText('The browser cannot show this format').waitFor();
    await shot('item10-netpbm-probe');
  });

  await step('analyst 1: item 9: a photo with several faces, numbered on the picture; click a face to search it', async () => {
    await page.locator('#probe-file').setInputFiles(PROBE_GROUP);
    await page.getByLabel('Justification').fill('A photo from the suspect\'s social media with two people; who is the second?');
    const r = await searchAnswer(caseId, () => page.getByRole('button', { name: 'Search', exact: true }).click());
    check(r.probe.faces.length > 1, `${r.probe.faces.length} face(s) in the group photo`);
    await page.locator('#search-warnings').filter({ hasText: 'faces in the photo' }).waitFor();
    const caption = await page.locator('.probe-figure figcaption').textContent();
    check(caption.includes(`face ${r.probe.searched_face} (yellow) was searched`), `the caption reads "${caption}"`);
    check(!/"face"|face_id/.test(await page.locator('#results').textContent()), 'the page speaks of the API\'s fields');
    const items = await page.locator('#face-list li').allTextContents();
    check(items.length === r.probe.faces.length && items.every((t, i) => t.startsWith(`Face ${i + 1}:`)), `the faces are listed as ${items}`);
    await shot('item09-several-faces');
    // Click another face on the picture.
    const other = r.probe.faces.find((f) => f.face !== r.probe.searched_face);
    const box = await page.locator('#probe-canvas').boundingBox();
    const [x, y, w, hh] = other.box;
    const k = box.width / r.probe.width;
    const r2 = await searchAnswer(caseId, () => page.locator('#probe-canvas').click({ position: { x: (x + w / 2) * k, y: (y + hh / 2) * k } }));
    check(r2.probe.searched_face === other.face, `clicking face ${other.face} searched face ${r2.probe.searched_face}`);
    await page.locator('#face-list li.searched').filter({ hasText: `Face ${other.face}:` }).waitFor();
    // And back with the button.
    const r3 = await searchAnswer(caseId, () => page.getByRole('button', { name: `Search face ${r.probe.searched_face} instead` }).click());
    check(r3.probe.searched_face === r.probe.searched_face, 'the button searched another face');
    check((await page.locator('#lead-notice').textContent()).includes(LEAD), 'no lead notice after re-searching');
    await page.locator('#probe-canvas').click({ position: { x: (x + w / 2) * k, y: (y + hh / 2) * k } });
    await page.locator('#face-list li.searched').filter({ hasText: `Face ${other.face}:` }).waitFor();
    await shot('item09-other-face');
  });

  await step('analyst 1: issue 17: keep the probe photo in the case (the CLI\'s --keep-probe)', async () => {
    const keep = page.getByLabel(`Keep the probe photo in case #${caseId}`);
    check(await keep.isVisible(), 'the search form of a case offers no "keep the probe photo"');
    check(!(await keep.isChecked()), 'keeping the probe photo is ticked before anyone asked');
    check(firstSearch.probe_photo_kept === false, 'the first search, unticked, kept its photo');
    await page.locator('#probe-file').setInputFiles(PROBE);
    await page.getByLabel('Justification').fill('The original camera still, kept as evidence with the case.');
    await keep.check();
    const r = await searchAnswer(caseId, () => page.getByRole('button', { name: 'Search', exact: true }).click());
    // The server keeps the photo only when the form sent keep_probe (server/handlers.cc).
    check(r.probe_photo_kept === true, `the search answered probe_photo_kept ${r.probe_photo_kept}: keep_probe was not sent`);
    keptProbe.searches = [r.search_id];
    keptProbe.file = PROBE;
    const note = (await page.locator('#probe-kept').textContent()).trim();
    check(note.includes(`Case #${caseId} keeps this probe photo`), `the kept note reads "${note}"`);
    await shot('issue17-keep-probe'); // the ticked box in the form, and the results saying so
    await keep.uncheck();
  });

  await step('analyst 1: item 4: a probe too poor to decide is stated prominently, its high scorers withheld', async () => {
    await page.locator('#probe-file').setInputFiles({ name: 'camera-still-blurred.png', mimeType: 'image/png', buffer: probes.blurred });
    await page.getByLabel('Justification').fill('A blurred frame of the same camera.');
    const r = await searchAnswer(caseId, () => page.getByRole('button', { name: 'Search', exact: true }).click());
    check(r.undecided === true, `the blurred probe was decided on (quality ${r.probe.quality})`);
    const warning = await page.locator('#undecided-warning').textContent();
    check(/Cannot decide/.test(warning), `the undecided warning reads "${warning}"`);
    check(await page.locator('#undecided-warning').evaluate((el) => el.getBoundingClientRect().top < window.innerHeight),
      'the undecided warning is not in view');
    check((await page.locator('#lead-count').textContent()).startsWith('No lead'), 'the lead count does not say there is no lead');
    const cards = await cardsShown();
    check(!cards.some((c) => c.status === 'LEAD'), 'a candidate of an undecided search is marked LEAD');
    const withheld = r.candidates.filter((c) => c.withheld);
    check(withheld.length > 0, 'no candidate was withheld');
    const card = page.locator(`#cands-by-rank > li[data-face="${withheld[0].face_id}"]`);
    check((await card.locator('.status').textContent()) === 'WITHHELD', 'the withheld candidate is not marked WITHHELD');
    check((await card.locator('.withheld-reason').textContent()).includes(withheld[0].withheld), 'the reason it is withheld is not shown');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('item04-undecided');
  });

  await step('analyst 1: item 3: the case lists its searches; one reopens as it was shown, without searching', async () => {
    await page.getByRole('link', { name: `Case #${caseId}` }).click();
    await page.getByRole('heading', { name: 'Searches' }).waitFor();
    const c = await apiGet(`/v1/cases/${caseId}`);
    const rows = page.locator('#case-searches tbody tr');
    check(await rows.count() === c.searches.length, `${await rows.count()} rows for ${c.searches.length} searches`);
    await page.locator('#case-searches .leads').filter({ hasText: '…' }).first().waitFor({ state: 'detached' });
    const firstRow = rows.filter({ has: page.getByRole('link', { name: `Search #${firstSearch.search_id}`, exact: true }) });
    const rowText = await firstRow.textContent();
    for (const want of [users.analyst1.name, 'Suspect caught on the shop camera', `${firstSearch.leads} lead`]) {
      check(rowText.includes(want), `the first search's row "${rowText}" lacks "${want}"`);
    }
    const undecidedRow = await rows.first().textContent();
    check(undecidedRow.includes('undecided'), `the blurred search's row reads "${undecidedRow}"`);
    // The possible match is not confirmed, and analyst 1 may not confirm it.
    const review = page.locator('section.reviews tbody tr').filter({ hasText: 'Possible match' });
    check(await review.getByText('Possible match (unconfirmed)').count() === 1, 'the possible match is not shown as unconfirmed');
    check(await review.getByRole('button', { name: /Confirm/ }).count() === 0, 'analyst 1 is offered to confirm their own possible match');
    await shot('item03-case-searches');
    await page.getByRole('link', { name: `Search #${firstSearch.search_id}`, exact: true }).click();
    await page.getByRole('heading', { name: `Search #${firstSearch.search_id} in case #${caseId}` }).waitFor();
    await page.locator('#cands-by-rank').waitFor();
    const again = await cardsShown();
    check(JSON.stringify(again) === JSON.stringify(firstCards),
      `the reopened search shows ${JSON.stringify(again)}, at search time ${JSON.stringify(firstCards)}`);
    check((await page.locator('#decision-text').textContent()).includes(`threshold ${firstSearch.decision.threshold.toFixed(4)}`), 'another decision');
    check((await page.locator('#recorded-justification').textContent()).startsWith('Suspect caught'), 'the justification is not shown');
    const first = page.locator('#cands-by-rank > li').first();
    check(await imageLoaded(first.locator('img.thumb')), 'the reopened search\'s crop did not load');
    check((await first.locator('.my-verdict').textContent()).includes('Possible match'), 'analyst 1\'s review is not shown');
    check(await first.locator('button.verdict[data-verdict="possible_match"]').getAttribute('aria-pressed') === 'true', 'the verdict is not marked');
    await page.getByText('The server keeps no copy of the photo').first().waitFor();
    // The probe from the analyst's own copy, checked by its SHA-256.
    await page.locator('#probe-copy').setInputFiles(PROBE);
    await page.getByText('is the photo that was searched (SHA-256 checked)').waitFor();
    await shot('item03-reopened-search');
    const after = await apiGet(`/v1/cases/${caseId}`);
    check(after.searches.length === c.searches.length, 'reopening a search searched again');
    await signOut(ctx1);
  });

  await step('analyst 2: item 3: confirm the possible match in the reopened search, and review there', async () => {
    await signIn(users.analyst2, ['Cases', 'Sources']);
    await page.getByRole('link', { name: caseTitle }).click();
    await page.getByRole('link', { name: `Search #${firstSearch.search_id}`, exact: true }).click();
    await page.locator('#cands-by-rank').waitFor();
    const first = page.locator('#cands-by-rank > li').first();
    const theirs = first.locator('.review-list li').filter({ hasText: users.analyst1.name });
    check((await theirs.textContent()).includes('Possible match (unconfirmed)'), 'analyst 1\'s possible match is not listed');
    await theirs.getByRole('button', { name: /Confirm review #\d+/ }).click();
    await theirs.getByText(`confirmed by ${users.analyst2.name}`).waitFor();
    const second = page.locator('#cands-by-rank > li').nth(1);
    await second.getByRole('button', { name: 'Not a match' }).click();
    await second.getByText(/Recorded: not a match/).waitFor();
    await shot('item03-confirmed-in-search');
    await page.getByRole('link', { name: `Case #${caseId}` }).click();
    const confirmed = page.locator('section.reviews tbody tr').filter({ hasText: 'Possible match (confirmed)' });
    await confirmed.first().waitFor();
    check((await confirmed.first().textContent()).includes(`by ${users.analyst2.name}`), 'the confirmation does not name analyst 2');
    await shot('analyst2-case-confirmed');
    // Evidence export, for members of the case: a justification first, then the ZIP.
    await page.locator('#case-export').scrollIntoViewIfNeeded();
    await page.locator('#case-export-button').click();
    await page.locator('#case-export').getByText('Write why the case is exported first.').waitFor();
    await page.locator('#case-export-why').fill('Disclosure to the defence, order 2027/55');
    exportSha = await exportEvidence('case-export', caseId, 'case-evidence-member.zip');
    await shot('evidence-export-member', page.locator('#case-export'));
    await signOut(page.context());
  });

  await step('analyst 2: persons of the case, the most doubtful first; a person page; name, split and undo with justifications', async () => {
    await signIn(users.analyst2, ['Cases', 'Sources']);
    await page.getByRole('link', { name: caseTitle }).click();
    await page.locator('#persons-link').click();
    await page.waitForURL(new RegExp(`#/cases/${caseId}/persons$`));
    // Viewing persons needs a justification, like a search.
    await page.locator('#persons-why-go').click();
    await page.getByText('A justification is required to view persons.').waitFor();
    await page.locator('#persons-why').fill('Who else appears in the shop camera case');
    await page.locator('#persons-why-go').click();
    await page.locator('#persons-table tbody tr').first().waitFor();
    const q = inCase(caseId);
    const list = await apiGet('/v1/persons?limit=200', q);
    const faces = Object.values(SOURCES).reduce((n, x) => n + x.faces, 0);
    check(list.persons.reduce((n, x) => n + x.faces, 0) + list.pending === faces,
      `persons hold ${list.persons.reduce((n, x) => n + x.faces, 0)} faces and ${list.pending} wait, of ${faces} enrolled`);
    const rows = page.locator('#persons-table tbody tr');
    check(await rows.count() === Math.min(list.total, 200), `${await rows.count()} rows for ${list.total} persons`);
    const shown = (await page.locator('#persons-table tbody tr td:first-child').allTextContents()).map((t) => Number(t.replace(/\D/g, '')));
    check(JSON.stringify(shown) === JSON.stringify(list.persons.map((x) => x.id)), 'the rows are not in the API\'s order (most doubtful first)');
    for (let i = 1; i < list.persons.length; ++i) {
      check(list.persons[i - 1].margin <= list.persons[i].margin, `person ${list.persons[i].id} is listed after a surer one`);
    }
    await shot('persons-list');

    // A person of several faces: thumbnails, timeline, photos.
    const several = list.persons.find((x) => x.faces >= 2);
    check(several, 'no person has two faces');
    await page.getByRole('link', { name: `Person #${several.id}`, exact: true }).click();
    await page.getByRole('heading', { name: new RegExp(`^Person #${several.id}`) }).waitFor();
    const cards = page.locator('#person-faces > li');
    check(await cards.count() === several.faces, `${await cards.count()} face cards for ${several.faces} faces`);
    check(await imageLoaded(cards.first().locator('img.thumb')), 'a face crop did not load');
    check(await page.locator('#person-timeline > li').count() >= 1, 'no timeline');
    check(await page.locator('#person-photos tbody tr').count() === several.faces, 'the photos table misses faces');
    await shot('person-page');

    // Split: no justification is refused in the page; with one, the ticked face leaves.
    const firstFace = Number(await cards.first().getAttribute('data-face'));
    await cards.first().locator('input[type=checkbox]').check();
    await page.locator('#person-split-go').click();
    await page.getByText('Write why you make this change first').waitFor();
    await page.locator('#person-why').fill('Face 1 is a different man (beard)');
    await page.locator('#person-split-go').click();
    await page.getByText(/face\(s\) moved to person #\d+/).waitFor();
    const moved = Number(/person #(\d+)/.exec(await page.locator('#flash').textContent())[1]);
    await page.locator(`#person-faces > li[data-face="${firstFace}"]`).waitFor({ state: 'detached' });
    await page.locator('#person-faces > li').first().waitFor();
    await shot('person-split');

    // Name the new person.
    await page.goto(`${URL_}/#/cases/${caseId}/persons/${moved}`);
    await page.getByRole('heading', { name: new RegExp(`^Person #${moved}`) }).waitFor();
    await page.locator('#person-name').fill('Bearded man');
    await page.locator('#person-why').fill('Called so in witness statement 3');
    await page.locator('#person-name-go').click();
    await page.getByRole('heading', { name: `Person #${moved}: Bearded man` }).waitFor();
    await shot('person-named');

    // Undo the split from the history (the name goes with it).
    await page.locator('nav.crumbs').getByRole('link', { name: 'Persons' }).click();
    const history = page.locator('#persons-history tbody tr');
    await history.first().waitFor();
    check((await history.first().textContent()).includes('name'), 'the newest change is not the name');
    for (const action of ['name', 'split']) {
      await page.locator('#history-why').fill('Split in error, reviewed with analyst 1');
      const row = page.locator('#persons-history tbody tr').filter({ has: page.locator('.action', { hasText: new RegExp(`^${action}$`) }) });
      const undo = row.locator('button[data-undo]');
      const id = await undo.getAttribute('data-undo');
      await undo.click();
      await page.getByText(`Change #${id} taken back.`).waitFor();
      await row.getByText(/^undone by #\d+$/).waitFor();
    }
    const back = await apiGet(`/v1/persons/${several.id}`, q);
    check(back.face_list.some((f) => f.face_id === firstFace), 'the face did not come back after the undo');
    await shot('persons-history-undone');
    await signOut(page.context());
  });

  await step('analyst 2: the co-appearance network: a person\'s associates, the drawing of their neighbourhood, a link\'s photos; the case\'s communities, brokers and a path', async () => {
    await signIn(users.analyst2, ['Cases', 'Sources']);
    const q = inCase(caseId);
    const br = await apiGet('/v1/network/brokers?top=1000', q);
    check(br.report.faces_left_out_purpose === SOURCES.press.faces + SOURCES.events.faces,
      `the network left out ${br.report.faces_left_out_purpose} faces by purpose; press and events hold ${SOURCES.press.faces + SOURCES.events.faces}`);
    // The two persons seen together in two photos (Obama and Biden in gatherings).
    let centre = 0, partner = 0;
    for (const b of br.brokers) {
      const a = await apiGet(`/v1/network/persons/${b.person}/associates?top=1`, q);
      if (a.associates.length && a.associates[0].shared_photos === 2) {
        centre = b.person;
        partner = a.associates[0].person;
        break;
      }
    }
    check(centre > 0, 'no two persons share two photos');
    const assoc = await apiGet(`/v1/network/persons/${centre}/associates?top=10`, q);
    const hood = await apiGet(`/v1/network/persons/${centre}/neighbourhood?depth=1&max_nodes=30`, q);

    await page.goto(`${URL_}/#/cases/${caseId}/persons/${centre}`);
    await page.locator('#persons-why').fill('Who appears with the suspect in the seized photos');
    await page.locator('#persons-why-go').click();
    await page.locator('#associates-table tbody tr').first().waitFor();
    check(await page.locator('#associates-table tbody tr').count() === assoc.associates.length,
      `${await page.locator('#associates-table tbody tr').count()} associates shown, the API gave ${assoc.associates.length}`);
    check((await page.locator('#associates-table tbody tr').first().textContent()).includes('gatherings'),
      'the first associate\'s photos do not name their source');
    check(/left out: their source does not allow network analysis/.test(await page.locator('#person-network .network-report').textContent()),
      'the page does not say how many faces the network left out');
    const nodes = page.locator('#network-drawing .net-node');
    check(await nodes.count() === hood.nodes.length, `${await nodes.count()} faces drawn for ${hood.nodes.length} persons`);
    check(await page.locator('#network-drawing .net-edge').count() === hood.edges.length, 'not every link is drawn');
    const loaded = await page.locator('#network-drawing image').evaluateAll((imgs) => Promise.all(imgs.map((i) =>
      fetch(i.getAttribute('href')).then((r) => r.ok && (r.headers.get('Content-Type') || '').startsWith('image/')))));
    check(loaded.length === hood.nodes.length && loaded.every(Boolean), 'a face of the drawing has no crop');
    // The link of two photos is drawn wider than a link of one.
    const [a, b] = centre < partner ? [centre, partner] : [partner, centre];
    const widths = await page.locator('#network-drawing .net-edge').evaluateAll((ls) => ls.map((l) => Number(l.getAttribute('stroke-width'))));
    const strong = page.locator(`#network-drawing .net-edge-hit[data-a="${a}"][data-b="${b}"]`);
    check(await strong.count() === 1, 'the strongest link is not drawn');
    const strongWidth = Number(await page.locator('#network-drawing .net-edge').nth(
      hood.edges.findIndex((e) => e.a === a && e.b === b)).getAttribute('stroke-width'));
    check(strongWidth === Math.max(...widths) && (widths.length === 1 || Math.min(...widths) < strongWidth),
      `the link of 2 photos is ${strongWidth} wide; all: ${widths.join(', ')}`);
    await page.locator('#person-network').scrollIntoViewIfNeeded();
    await shot('person-network', page.locator('#person-network'));
    await strong.dispatchEvent('click');
    await page.locator('#link-photos li').first().waitFor();
    check(await page.locator('#link-photos li').count() === 2, 'the link\'s two photos are not listed');
    check((await page.locator('#link-photos').textContent()).includes('gatherings'), 'the link\'s photos do not name their source');
    check(await imageLoaded(page.locator('#link-photos img').first()), 'a face of the link\'s photos did not load');
    await shot('network-link-photos', page.locator('#person-network'));

    // The network of the case.
    await page.goto(`${URL_}/#/cases/${caseId}`);
    await page.locator('#network-link').click();
    await page.waitForURL(new RegExp(`#/cases/${caseId}/network$`));
    await page.locator('#communities-table tbody tr').first().waitFor();
    const cm = await apiGet('/v1/network/communities', q);
    check(await page.locator('#communities-table tbody tr').count() === cm.communities.length,
      `${await page.locator('#communities-table tbody tr').count()} communities shown, ${cm.communities.length} found`);
    // Only persons who bridge something (score above 0) are brokers; with none, a sentence.
    const bridging = br.brokers.slice(0, 10).filter((x) => x.score > 0);
    if (bridging.length) {
      check(await page.locator('#brokers-table tbody tr').count() === bridging.length,
        `${await page.locator('#brokers-table tbody tr').count()} brokers listed, ${bridging.length} have a score above 0`);
    } else {
      check(await page.locator('#brokers-table').count() === 0, 'persons who bridge nothing are listed as brokers');
      check((await page.locator('#brokers-none').textContent()).startsWith('No person links two groups'),
        'no sentence says that nobody links two groups');
    }
    await page.locator('#path-from').fill(String(centre));
    await page.locator('#path-to').fill(String(partner));
    await page.locator('#path-go').click();
    await page.locator('#path-result .path-links > li').first().waitFor();
    check(await page.locator('#path-result .path-links > li').count() === 1, 'the path between the two is not one link');
    // The export is fetched with the case and justification in headers and handed over as a file.
    const [exported] = await Promise.all([page.waitForEvent('download'), page.locator('#export-json').click()]);
    check(exported.suggestedFilename() === 'network.json', `the export is named ${exported.suggestedFilename()}`);
    const exportedJson = JSON.parse(fs.readFileSync(await exported.path(), 'utf8'));
    check(exportedJson.ties.length === cm.report.ties, `the export has ${exportedJson.ties.length} links, the network ${cm.report.ties}`);
    await shot('network-communities-brokers-path');
    await signOut(page.context());
  });

  await step('admin: enrols a photo showing one face twice (a copy cannot join the person the other joins, and waits); the Enrol page offers admins Rebuild persons', async () => {
    const ctx = await signIn(users.admin, ['Cases', 'Audit', 'Users & tokens', 'Sources', 'Enrol photos']);
    await page.getByRole('link', { name: 'Enrol photos' }).click();
    await page.getByRole('heading', { name: 'Enrol photos' }).waitFor();
    await page.locator('#rebuild-form #rebuild-go').waitFor();  // admins may rebuild (without a case)
    await page.locator('#en-source').selectOption('press');
    await page.locator('#en-files').setInputFiles({ name: 'twice.jpg', mimeType: 'image/jpeg', buffer: probes.twice });
    await page.getByRole('button', { name: 'Upload and enrol' }).click();
    await page.getByRole('heading', { name: /^Enrolment job #\d+: done$/ }).waitFor({ timeout: 60000 });
    await shot('admin-enrol-rebuild');
    await signOut(ctx);
  });

  await step('analyst 2: the faces waiting for a person, as crops with their photos; rebuilding persons shows that it runs, then what it did', async () => {
    await signIn(users.analyst2, ['Cases', 'Sources']);
    const q = inCase(caseId);
    const pending = await apiGet('/v1/persons/pending?limit=60', q);
    check(pending.total >= 1, 'no face waits for a person after a photo of one face twice was enrolled');
    check(pending.faces.some((f) => f.source === 'press' && /twice/.test(f.image)), 'a copy of the doubled photo does not wait');
    await page.goto(`${URL_}/#/cases/${caseId}/persons`);
    await page.locator('#persons-why').fill('Which faces the grouping could not place');
    await page.locator('#persons-why-go').click();
    const cards = page.locator('#pending-faces > li');
    await cards.first().waitFor();
    check(await cards.count() === Math.min(pending.total, 60), `${await cards.count()} waiting faces shown, ${pending.total} wait`);
    check((await page.locator('#persons-summary').textContent()).includes(`${pending.total} faces waiting`), 'the summary does not count the waiting faces');
    for (let i = 0; i < await cards.count(); ++i) {
      check(await imageLoaded(cards.nth(i).locator('img.thumb')), `the crop of waiting face ${i + 1} did not load`);
    }
    check((await page.locator('#pending-faces').textContent()).includes('press'), 'the waiting faces do not name their source');
    // Why each waits: its close neighbours' vote, as the API gives it.
    for (const f of pending.faces.slice(0, 60)) {
      const vote = page.locator(`#pending-faces > li[data-face="${f.face_id}"] .pending-vote`);
      check(await vote.getAttribute('data-reason') === f.vote.reason, `face ${f.face_id} does not say why it waits`);
      check((await vote.textContent()).startsWith(`${f.vote.close_neighbours} close neighbour`),
        `face ${f.face_id}: "${await vote.textContent()}" does not count its close neighbours`);
    }
    check(pending.faces.some((f) => /twice/.test(f.image) && f.vote.reason === 'same photo'),
      'the doubled photo\'s copy does not wait because its person holds a face of the same photo');
    await page.locator('#pending-section').scrollIntoViewIfNeeded();
    await shot('persons-pending', page.locator('#pending-section'));

    // Rebuild: refused in the page without a justification; with one, the server answers
    // 202 with the job queued and the card follows it (the first poll is held back a
    // moment to see the card while it waits), then shows its counts.
    await page.locator('#rebuild-go').click();
    await page.getByText('Write why you rebuild persons first.').waitFor();
    await page.locator('#rebuild-why').fill('Place the faces enrolment left waiting before reviewing the case');
    let held = false;
    await page.route(/\/v1\/persons\/recluster\/\d+$/, async (route) => {
      if (!held) {
        held = true;
        await new Promise((r) => setTimeout(r, 2500));
      }
      await route.continue();
    });
    const accepted = page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/persons/recluster' && r.request().method() === 'POST');
    const finished = page.waitForResponse(async (r) => /^\/v1\/persons\/recluster\/\d+$/.test(new URL(r.url()).pathname) &&
      r.status() === 200 && (await r.json()).state === 'done', { timeout: 120000 });
    await page.locator('#rebuild-go').click();
    const start = await accepted;
    check(start.status() === 202, `the rebuild answered ${start.status()}, not 202 (a job)`);
    const job = await start.json();
    check(job.state === 'queued' && job.status === `/v1/persons/recluster/${job.job}`, `the job starts as ${JSON.stringify(job)}`);
    await page.locator('#rebuild-progress[data-state="queued"] progress').waitFor();
    check((await page.locator('#rebuild-progress').textContent()).includes(`rebuild job #${job.job}`), 'the card does not name the job');
    check(/^\d+ s$/.test(await page.locator('#rebuild-elapsed').textContent()), 'the card does not show the seconds gone');
    check(await page.locator('#rebuild-go').isDisabled(), 'the button can be pressed again while the rebuild runs');
    await shot('persons-rebuilding', page.locator('#rebuild-form'));
    const done = await (await finished).json();
    await page.unroute(/\/v1\/persons\/recluster\/\d+$/);
    check(done.job === job.job && done.stage === 'storing' && done.done === done.total && done.error === '',
      `the job ended as ${JSON.stringify(done)}`);
    const report = done.result;
    await page.locator('#flash').getByText(/^Persons rebuilt in /).waitFor();
    await page.locator('#rebuild-result').waitFor();
    const after = await apiGet('/v1/persons/pending', q);
    check(after.total === report.pending, `${after.total} faces wait after the rebuild, which reported ${report.pending}`);
    if (after.total === 0) await page.locator('#pending-none').waitFor();
    check((await page.locator('#rebuild-result').textContent()).includes(`${report.persons} (`), 'the result does not give the persons rebuilt');
    await page.locator('#pending-section').scrollIntoViewIfNeeded();
    await shot('persons-rebuilt', page.locator('#pending-section'));
    await signOut(page.context());
  });

  await step('auditor: the audit log (item 6: readable candidates, dates on one line); the chain verifies', async () => {
    await signIn(users.auditor, ['Audit']);
    await page.waitForURL(/#\/audit$/);
    await page.locator('#verify-result').filter({ hasText: /^OK/ }).waitFor();
    const head = (await page.locator('#verify-box code.hash').textContent()).trim();
    check(/^[0-9a-f]{64}$/.test(head), `the head hash is "${head}"`);
    await page.locator('#audit-records tbody tr').first().waitFor();
    const actions = await page.locator('#audit-records tbody td:nth-child(4)').allTextContents();
    for (const a of ['case_create', 'case_member_add', 'search', 'review', 'confirm', 'persons_list', 'persons_show',
      'person_split', 'person_name', 'person_undo', 'network_associates', 'network_neighbourhood', 'network_communities',
      'network_brokers', 'network_path', 'persons_pending', 'persons_recluster', 'persons_recluster_done']) {
      check(actions.includes(a), `no "${a}" record in the audit log (saw: ${[...new Set(actions)].join(', ')})`);
    }
    check(await page.locator('#stats-box').getByText('Searches per user').count() === 1, 'no statistics shown');
    const searchRow = page.locator('#audit-records tbody tr').filter({ has: page.locator('td:nth-child(4)', { hasText: /^search$/ }) }).last();
    const cands = (await searchRow.locator('li', { hasText: 'candidates:' }).textContent()).replace(/\s+/g, ' ');
    check(/^candidates: #\d+: -?\d\.\d{3},( #\d+: -?\d\.\d{3},)* #\d+: -?\d\.\d{3}$/.test(cands.trim()), `the candidates read "${cands}"`);
    const wrapped = await page.locator('#audit-records time').evaluateAll((ts) => ts.filter((t) => t.getClientRects().length !== 1).length);
    check(wrapped === 0, `${wrapped} time(s) wrap over two lines`);
    await shot('item06-audit');
    // Filter: this case's confirmations only.
    await page.locator('#f-case').fill(String(caseId));
    await page.locator('#f-action').selectOption('confirm');
    await page.getByRole('button', { name: 'Show records' }).click();
    await page.getByText(/^1 record\(s\)/).waitFor();
    const actor = await page.locator('#audit-records tbody td:nth-child(3)').first().textContent();
    check(actor === users.analyst2.name, `the confirm record's actor is ${actor}`);
    await shot('auditor-filtered');
    // Auditors export any case from the Audit page; the records name both exports.
    await page.locator('#audit-export-case').fill(String(caseId));
    await page.locator('#audit-export-why').fill('Oversight body review 2027-3');
    const auditorSha = await exportEvidence('audit-export', caseId, 'case-evidence-auditor.zip');
    await shot('evidence-export-auditor', page.locator('#audit-export'));
    await page.locator('#f-action').selectOption('case_export');
    await page.getByRole('button', { name: 'Show records' }).click();
    await page.getByText(/^2 record\(s\)/).waitFor();
    const details = (await page.locator('#audit-records tbody').textContent()).replace(/\s+/g, ' ');
    for (const sha of [exportSha, auditorSha]) check(details.includes(sha.slice(0, 12)), `no export record names ${sha}`);
    await shot('auditor-export-records');
    // Pages of other roles are not offered, and say so if opened by hand.
    await page.goto(`${URL_}/#/cases`);
    await page.getByRole('heading', { name: 'Not available' }).waitFor();
    await signOut(page.context());
  });
}

const t0 = Date.now();
try {
  await main();
  console.log(`console.test: PASS (${((Date.now() - t0) / 1000).toFixed(1)} s, ${shotNo} screenshots in ${ART})`);
  await browser.close();
  process.exit(0);
} catch (err) {
  console.error(`console.test: FAIL in step "${stepName}": ${err.message}`);
  if (page) {
    try {
      const file = path.join(ART, 'failure.png');
      await page.screenshot({ path: file, fullPage: true });
      console.error(`  the page at the failure: ${file} (${page.url()})`);
    } catch {
      /* the page may be gone */
    }
  }
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}
