// The Lineup web console end to end, in Debian's headless Chromium driven by
// playwright-core. Started by tests/e2e/run.sh, which builds a gallery of real photos,
// creates the users and starts `lineup serve`; everything comes in through the
// environment:
//
//   E2E_URL            the server, e.g. http://127.0.0.1:8123
//   E2E_ADMIN, E2E_ANALYST1, E2E_ANALYST2, E2E_AUDITOR   user names
//   E2E_PASSWORD_<ROLE...> the matching passwords (E2E_PASSWORD_ADMIN, _ANALYST1, ...)
//   E2E_PROBE          a photo of one person enrolled in the gallery
//   E2E_PROBE_GROUP    (optional) a photo with several faces, to pick another face
//   E2E_ARTIFACTS      where the screenshots go (PNG)
//   CHROMIUM           the browser (default /usr/bin/chromium)
//
// The story: an admin looks at users, tokens and sources; analyst 1 opens a case, adds
// analyst 2 to it, searches with a real photo, sees the candidates with the lead notice
// and marks one "possible match"; analyst 2 confirms it; the auditor sees the search,
// review and confirmation in the audit log and a verified hash chain. Any failure exits
// non-zero with the step that failed and a screenshot of the page at that moment.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

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
const PROBE_GROUP = process.env.E2E_PROBE_GROUP || '';
const ART = need('E2E_ARTIFACTS');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const LEAD = 'not identifications';

fs.mkdirSync(ART, { recursive: true });

let browser;
let page; // the page of the current step, for the failure screenshot
let stepName = '';
let shotNo = 0;
const problems = []; // page errors and CSP violations, from every page

function check(cond, message) {
  if (!cond) throw new Error(message);
}

async function shot(name) {
  const file = path.join(ART, `${String(++shotNo).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`  screenshot ${file}`);
}

async function step(name, fn) {
  stepName = name;
  const t0 = Date.now();
  console.log(`- ${name}`);
  await fn();
  console.log(`  ok (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

// A fresh browser context (its own cookies) signed in as `who`.
async function signIn(who, expectNav) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await ctx.newPage();
  page.setDefaultTimeout(20000);
  page.on('pageerror', (e) => problems.push(`[${who.name}] page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) {
      problems.push(`[${who.name}] ${m.text()}`);
    }
  });
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

async function main() {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  console.log(`Chromium ${browser.version()}, server ${URL_}`);
  let caseId = 0;
  let caseTitle = '';

  await step('the sign-in page, and a wrong password', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await ctx.newPage();
    page.setDefaultTimeout(20000);
    page.on('pageerror', (e) => problems.push(`[anonymous] page error: ${e.message}`));
    await page.goto(`${URL_}/`);
    await page.waitForURL(/#\/login$/);
    await page.getByLabel('Name').fill(users.analyst1.name);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.form-error').filter({ hasText: /\S/ }).waitFor();
    await shot('login-refused');
    await ctx.close();
  });

  await step('admin: users, tokens and sources', async () => {
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
    check(await page.locator('table').getByText('press', { exact: true }).count() === 1, 'source "press" is not listed');
    await shot('admin-sources');
    await signOut(ctx);
  });

  let ctx1;
  await step('analyst 1: open a case and add analyst 2 to it', async () => {
    ctx1 = await signIn(users.analyst1, ['Cases', 'Sources']);
    await page.waitForURL(/#\/cases$/);
    caseTitle = `Robbery at 5 Example Street (${new Date().toISOString().slice(0, 16)})`;
    await page.getByLabel('Title').fill(caseTitle);
    await page.getByLabel('Authority').fill('Warrant 2024/117, Example District Court');
    await page.getByRole('button', { name: 'Open case' }).click();
    await page.waitForURL(/#\/cases\/\d+$/);
    caseId = Number(page.url().match(/#\/cases\/(\d+)$/)[1]);
    await page.getByRole('heading', { name: new RegExp(`Case #${caseId}:`) }).waitFor();
    await page.getByLabel('Analyst name').fill(users.analyst2.name);
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.getByText(`${users.analyst2.name} is now a member of case #${caseId}`).waitFor();
    const members = await page.locator('dl.facts dd').nth(2).textContent();
    check(members.includes(users.analyst2.name), `members are "${members}", expected ${users.analyst2.name} among them`);
    await shot('analyst1-case');
  });

  let firstFace = 0;
  await step('analyst 1: search with a real photo', async () => {
    await page.getByRole('link', { name: 'New search' }).click();
    await page.waitForURL(new RegExp(`#/cases/${caseId}/search$`));
    await page.locator('#probe-file').setInputFiles(PROBE);
    await page.locator('img.preview').waitFor();
    // No justification: refused in the page, nothing is sent.
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.locator('.form-error').filter({ hasText: 'justification is required' }).waitFor();
    await page.getByLabel('Justification').fill('Suspect caught on the shop camera during the robbery; looking for leads.');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByRole('heading', { name: /Results of search #\d+/ }).waitFor({ timeout: 60000 });
    const notice = await page.locator('#lead-notice').textContent();
    check(notice.includes(LEAD), `the lead notice reads "${notice}"`);
    const cards = page.locator('.cand-grid > li');
    const n = await cards.count();
    check(n > 0, 'no candidate was shown for the probe photo');
    // The probe is drawn with its face boxes.
    const drawn = await page.locator('canvas.probe-canvas').evaluate((c) => c.width > 0 && c.height > 0);
    check(drawn, 'the probe photo was not drawn on the canvas');
    // Each candidate shows its crop, score, FPIR, quality, image, source and legal basis.
    const first = cards.first();
    for (const label of ['Score', 'FPIR', 'Quality', 'Image', 'Source', 'Legal basis', 'Subject']) {
      check(await first.getByText(label, { exact: false }).count() > 0, `the first candidate has no "${label}"`);
    }
    // The crop is fetched after the card is drawn: wait for it to load or fail (10 s at most).
    const cropLoaded = await first.locator('img.thumb').evaluate((i) => (i.complete && i.naturalWidth > 0)
      ? true
      : new Promise((resolve) => {
        i.addEventListener('load', () => resolve(i.naturalWidth > 0));
        i.addEventListener('error', () => resolve(false));
        setTimeout(() => resolve(i.complete && i.naturalWidth > 0), 10000);
      }));
    check(cropLoaded, 'the first candidate\'s face crop did not load');
    firstFace = Number(await first.getAttribute('data-face'));
    const subject = await first.locator('dd').first().textContent();
    console.log(`  ${n} candidate(s); the first is face #${firstFace} (${subject})`);
    await shot('analyst1-search-results');
  });

  await step('analyst 1: review the first candidate as a possible match', async () => {
    const first = page.locator('.cand-grid > li').first();
    await first.getByLabel('Note').fill('Same ear shape and hairline as on the camera still.');
    await first.getByRole('button', { name: 'Possible match' }).click();
    await first.getByText(/Recorded as a possible match \(review #\d+\)/).waitFor();
    const second = page.locator('.cand-grid > li').nth(1);
    if (await second.count()) {
      await second.getByRole('button', { name: 'Not a match' }).click();
      await second.getByText(/Recorded: not a match/).waitFor();
    }
    await shot('analyst1-reviewed');
  });

  if (PROBE_GROUP) {
    await step('analyst 1: a photo with several faces, then search another face', async () => {
      await page.locator('#probe-file').setInputFiles(PROBE_GROUP);
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.locator('#search-warnings').filter({ hasText: 'faces in the photo' }).waitFor({ timeout: 60000 });
      const other = page.getByRole('button', { name: /Search face #\d+ instead/ }).first();
      const label = await other.textContent();
      const wanted = label.match(/#(\d+)/)[1];
      await other.click();
      await page.locator('.face-list li.searched').filter({ hasText: `Face #${wanted}:` }).waitFor({ timeout: 60000 });
      check((await page.locator('#lead-notice').textContent()).includes(LEAD), 'no lead notice after re-searching');
      await shot('analyst1-other-face');
    });
  }

  await step('analyst 1: the case page lists the review as not confirmed', async () => {
    await page.getByRole('link', { name: `Case #${caseId}` }).click();
    await page.getByRole('heading', { name: 'Reviews' }).waitFor();
    const row = page.locator('section.reviews tbody tr').filter({ hasText: 'Possible match' });
    await row.first().waitFor();
    check(await row.getByText('Possible match (unconfirmed)').count() === 1, 'the possible match is not shown as unconfirmed');
    check(await row.getByRole('button', { name: /Confirm/ }).count() === 0,
      'analyst 1 is offered to confirm their own possible match');
    await shot('analyst1-case-reviews');
    await signOut(ctx1);
  });

  await step('analyst 2: confirm the possible match', async () => {
    await signIn(users.analyst2, ['Cases', 'Sources']);
    await page.getByRole('link', { name: caseTitle }).click();
    await page.getByRole('heading', { name: 'Reviews' }).waitFor();
    const row = page.locator('section.reviews tbody tr').filter({ hasText: 'Possible match' }).first();
    await row.getByRole('button', { name: /Confirm review #\d+/ }).click();
    await page.getByText(/Review #\d+ confirmed/).waitFor();
    const confirmed = page.locator('section.reviews tbody tr').filter({ hasText: 'Possible match (confirmed)' });
    await confirmed.first().waitFor();
    check((await confirmed.first().textContent()).includes(`by ${users.analyst2.name}`), 'the confirmation does not name analyst 2');
    await shot('analyst2-confirmed');
    await signOut(page.context());
  });

  await step('auditor: the audit log shows the search, review and confirmation; the chain verifies', async () => {
    await signIn(users.auditor, ['Audit']);
    await page.waitForURL(/#\/audit$/);
    await page.locator('#verify-result').filter({ hasText: /^OK/ }).waitFor();
    const head = (await page.locator('#verify-box code.hash').textContent()).trim();
    check(/^[0-9a-f]{64}$/.test(head), `the head hash is "${head}"`);
    await page.locator('#audit-records tbody tr').first().waitFor();
    const actions = await page.locator('#audit-records tbody td:nth-child(4)').allTextContents();
    for (const a of ['case_create', 'case_member_add', 'search', 'review', 'confirm']) {
      check(actions.includes(a), `no "${a}" record in the audit log (saw: ${[...new Set(actions)].join(', ')})`);
    }
    check(await page.locator('#stats-box').getByText('Searches per user').count() === 1, 'no statistics shown');
    await shot('auditor-audit');
    // Filter: this case's confirmations only.
    await page.locator('#f-case').fill(String(caseId));
    await page.locator('#f-action').selectOption('confirm');
    await page.getByRole('button', { name: 'Show records' }).click();
    await page.getByText(/^1 record\(s\)/).waitFor();
    const actor = await page.locator('#audit-records tbody td:nth-child(3)').first().textContent();
    check(actor === users.analyst2.name, `the confirm record's actor is ${actor}`);
    await shot('auditor-filtered');
    // Pages of other roles are not offered, and say so if opened by hand.
    await page.goto(`${URL_}/#/cases`);
    await page.getByRole('heading', { name: 'Not available' }).waitFor();
    await signOut(page.context());
  });

  check(problems.length === 0, `the browser reported problems:\n  ${problems.join('\n  ')}`);
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
