// Lineup web console: a single-page app over the /v1 API of `lineup serve`
// (server/handlers.cc). Plain JavaScript, no framework, no build step, nothing loaded
// from elsewhere. The page is built with DOM calls and textContent only (never
// innerHTML with data), so names, notes, file names and justifications coming back
// from the API cannot inject markup.
//
// Signing in sets an HttpOnly session cookie; the CSRF token that comes with it is kept
// in memory (and recovered from GET /v1/session after a reload) and sent as X-CSRF-Token on
// every request that changes something.

const FALLBACK_NOTICE =
  'Candidates are investigative leads for human review, not identifications. ' +
  'A possible match counts only after a second analyst confirms it.';

const state = { user: null, role: null, csrf: null, notice: FALLBACK_NOTICE };

// ------------------------------------------------------------------ DOM helpers

// h('a', {href: '#/x', class: 'btn', onclick: fn}, 'text', child, [more children])
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let idCounter = 0;
const uid = (prefix) => `${prefix}-${++idCounter}`;

// A labelled form control. kind: 'input' (default), 'textarea' or 'select'.
function field(label, attrs = {}, { kind = 'input', help = '', options = [] } = {}) {
  const id = attrs.id || uid('f');
  const helpId = help ? `${id}-help` : null;
  let control;
  if (kind === 'select') {
    control = h('select', { ...attrs, id, 'aria-describedby': helpId },
      options.map(([value, text]) => h('option', { value }, text)));
    if (attrs.value !== undefined) control.value = attrs.value;
  } else {
    control = h(kind, { ...attrs, id, 'aria-describedby': helpId });
  }
  return h('div', { class: 'field' },
    h('label', { for: id }, label, attrs.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
    control,
    help ? h('p', { class: 'help', id: helpId }, help) : null);
}

function table(headers, rows, { caption = '', empty = 'Nothing to show.', id = null } = {}) {
  if (!rows.length) return h('p', { class: 'muted empty', id }, empty);
  return h('div', { class: 'table-wrap' },
    h('table', { id },
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c)))))));
}

function dl(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function badge(text, kind = '') {
  return h('span', { class: `badge ${kind}` }, text);
}

function errorBox(err) {
  return h('div', { class: 'error-box', role: 'alert' }, h('strong', {}, 'Error: '), messageOf(err));
}

function messageOf(err) {
  return (err && err.message) || String(err);
}

function noticeBox() {
  return h('div', { class: 'notice', role: 'note' },
    h('strong', {}, 'A candidate is a lead, not an identification. '),
    state.notice);
}

// Shows an error (or clears it) in a form's own error area, announced to screen readers.
function formStatus(form, err) {
  let box = form.querySelector('.form-error');
  if (!box) {
    box = h('div', { class: 'form-error', role: 'alert' });
    form.prepend(box);
  }
  box.textContent = err ? messageOf(err) : '';
  box.hidden = !err;
}

// The trimmed text of a required field, or null once the form says what is missing.
function requiredText(form, name, missing) {
  const v = form.elements[name].value.trim();
  if (!v) formStatus(form, new Error(missing));
  return v || null;
}

// Disables a button while `work` runs; reports failures in the form.
async function busy(button, label, work, form) {
  const old = [...button.childNodes];
  button.disabled = true;
  button.textContent = label;
  button.setAttribute('aria-busy', 'true');
  try {
    if (form) formStatus(form, null);
    return await work();
  } catch (err) {
    if (form) formStatus(form, err);
    else flash(messageOf(err), 'error');
    return undefined;
  } finally {
    button.disabled = false;
    button.replaceChildren(...old);
    button.removeAttribute('aria-busy');
  }
}

function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

// A time that never wraps over two lines, with the exact UTC time as its tooltip.
function timeEl(iso) {
  if (!iso) return '—';
  return h('time', { datetime: iso, title: iso, class: 'nowrap' }, fmtTime(iso));
}

function fmtScore(x) {
  return typeof x === 'number' ? x.toFixed(3) : '—';
}

function fmtCount(n) {
  return typeof n === 'number' ? n.toLocaleString('en-US') : '—';
}

// A rate for people: "1%", "0.3%", or "1 in 32,000" below 0.1% — never 3.1e-05.
function fmtRate(x) {
  if (typeof x !== 'number' || !Number.isFinite(x)) return '—';
  if (x <= 0) return '≈ 0';
  if (x >= 0.001) {
    const p = x * 100;
    const text = p >= 10 ? String(Math.round(p)) : p >= 1 ? p.toFixed(1) : p.toFixed(2);
    return `${text.includes('.') ? text.replace(/\.?0+$/, '') : text}%`;
  }
  return `1 in ${fmtCount(Number((1 / x).toPrecision(2)))}`;
}

function fmtShare(x) {
  return typeof x === 'number' ? `${(x * 100).toFixed(1)} %` : '—';
}

// Long text (a file path, a URI) shortened in the middle, so that its start and its
// file name stay visible; the whole text is the tooltip.
function middleEllipsis(text, max = 44) {
  const t = String(text || '');
  if (t.length <= max) return t;
  const head = Math.ceil((max - 1) * 0.4);
  return `${t.slice(0, head)}…${t.slice(t.length - (max - 1 - head))}`;
}

function pathEl(text, max) {
  if (!text) return '—';
  return h('span', { class: 'path', title: text, 'data-full': text }, middleEllipsis(text, max));
}

function fitPath(el) {
  if (el instanceof Node) el.classList.add('fit');
  return el;
}

// Shortens the paths inside `root` in the middle just enough to fit their boxes (once
// they are laid out: a <details> that opens, say).
function fitPaths(root) {
  for (const el of root.querySelectorAll('.path.fit')) {
    const full = el.getAttribute('data-full');
    el.textContent = full;
    if (el.scrollWidth <= el.clientWidth) continue;
    let lo = 8;
    let hi = full.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      el.textContent = middleEllipsis(full, mid);
      if (el.scrollWidth <= el.clientWidth) lo = mid;
      else hi = mid - 1;
    }
    el.textContent = middleEllipsis(full, lo);
  }
}

const VERDICTS = {
  possible_match: 'Possible match',
  not_a_match: 'Not a match',
  inconclusive: 'Inconclusive',
};

// ------------------------------------------------------------------ flash messages

let flashKeep = false;

function flash(text, kind = 'info', { keep = false } = {}) {
  const el = document.getElementById('flash');
  el.replaceChildren();
  if (!text) return;
  el.append(h('div', { class: `flash-msg ${kind}`, role: kind === 'error' ? 'alert' : null }, text,
    h('button', { type: 'button', class: 'link-btn', 'aria-label': 'Dismiss message', onclick: () => flash('') }, '×')));
  flashKeep = keep;
}

// ------------------------------------------------------------------ API

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// `headers`: more request headers (a read's case and justification: inCase below).
async function api(method, path, body, headers = {}) {
  const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json', ...headers } };
  if (method !== 'GET' && state.csrf) opts.headers['X-CSRF-Token'] = state.csrf;
  if (body instanceof FormData) opts.body = body;
  else if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    throw new ApiError(0, 'network', `Cannot reach the Lineup server (${e.message}).`);
  }
  let data = null;
  if ((res.headers.get('Content-Type') || '').includes('application/json')) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const message = (data && data.error && data.error.message) || `The server answered ${res.status}.`;
    const err = new ApiError(res.status, (data && data.error && data.error.code) || 'error', message);
    if (res.status === 401 && path !== '/v1/session' && state.user) {
      signedOut('Your session has ended. Please sign in again.');
    }
    throw err;
  }
  return data;
}

// A file from the API as text (an export), with the same errors as api().
async function download(path, headers = {}) {
  let res;
  try {
    res = await fetch(path, { method: 'GET', credentials: 'same-origin', headers });
  } catch (e) {
    throw new ApiError(0, 'network', `Cannot reach the Lineup server (${e.message}).`);
  }
  if (!res.ok) {
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    throw new ApiError(res.status, (data && data.error && data.error.code) || 'error',
      (data && data.error && data.error.message) || `The server answered ${res.status}.`);
  }
  return res.text();
}

// ------------------------------------------------------------------ session

function setSession(me) {
  state.user = me.user;
  state.role = me.role;
  state.csrf = me.csrf;
  if (me.notice) state.notice = me.notice;
  try {
    sessionStorage.setItem('lineup.csrf', me.csrf || '');
  } catch {
    /* storage may be disabled: memory is enough */
  }
  renderChrome();
}

function clearSession() {
  state.user = state.role = state.csrf = null;
  try {
    sessionStorage.removeItem('lineup.csrf');
  } catch {
    /* ignore */
  }
  renderChrome();
}

function signedOut(message) {
  clearSession();
  flash(message, 'error', { keep: true });
  go('#/login');
}

async function logout() {
  try {
    await api('DELETE', '/v1/session');
  } catch {
    /* signed out either way */
  }
  clearSession();
  flash('You are signed out.', 'info', { keep: true });
  go('#/login');
}

// ------------------------------------------------------------------ routing

const ALL = ['admin', 'analyst', 'enroller', 'auditor'];

// The navigation, by role (the role lists of the routes in server/handlers.cc).
const NAV = [
  { href: '#/cases', text: 'Cases', roles: ['admin', 'analyst'] },
  { href: '#/audit', text: 'Audit', roles: ['auditor', 'admin'] },
  { href: '#/users', text: 'Users & tokens', roles: ['admin'] },
  { href: '#/sources', text: 'Sources', roles: ['admin', 'enroller', 'analyst'] },
  { href: '#/enrol', text: 'Enrol photos', roles: ['admin', 'enroller'] },
];

const ROUTES = [
  { re: /^\/login$/, page: pageLogin, roles: null },
  { re: /^\/cases$/, page: pageCases, roles: ['admin', 'analyst'] },
  { re: /^\/cases\/(\d+)$/, page: pageCase, roles: ['admin', 'analyst'] },
  { re: /^\/cases\/(\d+)\/search$/, page: pageSearch, roles: ['analyst'] },
  { re: /^\/cases\/(\d+)\/searches\/(\d+)$/, page: pageRecordedSearch, roles: ['admin', 'analyst'] },
  { re: /^\/cases\/(\d+)\/persons$/, page: pagePersons, roles: ['analyst'] },
  { re: /^\/cases\/(\d+)\/persons\/(\d+)$/, page: pagePerson, roles: ['analyst'] },
  { re: /^\/cases\/(\d+)\/network$/, page: pageNetwork, roles: ['analyst'] },
  { re: /^\/audit$/, page: pageAudit, roles: ['auditor', 'admin'] },
  { re: /^\/users$/, page: pageUsers, roles: ['admin'] },
  { re: /^\/sources$/, page: pageSources, roles: ['admin', 'enroller', 'analyst'] },
  { re: /^\/enrol$/, page: pageEnrol, roles: ['admin', 'enroller'] },
  { re: /^\/differentials(?:\?.*)?$/, page: pageDifferentials, roles: null },
];

function homeFor(role) {
  if (role === 'auditor') return '#/audit';
  if (role === 'enroller') return '#/enrol';
  return '#/cases';
}

function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function renderChrome() {
  const nav = document.getElementById('nav');
  const who = document.getElementById('whoami');
  nav.replaceChildren();
  who.replaceChildren();
  if (!state.user) return;
  const path = location.hash.replace(/^#/, '');
  nav.append(h('ul', {}, NAV.filter((n) => n.roles.includes(state.role)).map((n) => {
    const current = path === n.href.slice(1) || path.startsWith(`${n.href.slice(1)}/`);
    return h('li', {}, h('a', { href: n.href, 'aria-current': current ? 'page' : null }, n.text));
  })));
  who.append(
    h('span', {}, 'Signed in as ', h('strong', { id: 'whoami-name' }, state.user), ' ', badge(state.role, 'role')),
    h('button', { type: 'button', class: 'btn small secondary', onclick: logout }, 'Sign out'));
}

let renderSeq = 0;

async function render() {
  const seq = ++renderSeq;
  if (!flashKeep) flash('');
  flashKeep = false;
  const path = location.hash.replace(/^#/, '') || '/';
  const main = document.getElementById('main');
  if (!state.user && path !== '/login') {
    sessionStorage.setItem('lineup.after', path === '/' ? '' : `#${path}`);
    go('#/login');
    return;
  }
  if (state.user && (path === '/' || path === '/login')) {
    go(homeFor(state.role));
    return;
  }
  renderChrome();
  const view = h('div', { class: 'view' });
  main.replaceChildren(view);
  const route = ROUTES.find((r) => r.re.test(path));
  if (!route) {
    view.append(h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: homeFor(state.role) }, 'Go to the start page')));
    return;
  }
  if (route.roles && !route.roles.includes(state.role)) {
    view.append(h('h1', {}, 'Not available'),
      h('p', {}, `The ${state.role} role cannot use this page.`),
      h('p', {}, h('a', { href: homeFor(state.role) }, 'Go to the start page')));
    return;
  }
  const params = path.match(route.re).slice(1);
  try {
    await route.page(view, ...params);
  } catch (err) {
    if (seq === renderSeq && !(err instanceof ApiError && err.status === 401)) view.append(errorBox(err));
  }
  if (seq === renderSeq) {
    const h1 = view.querySelector('h1');
    if (h1) {
      h1.setAttribute('tabindex', '-1');
      h1.focus({ preventScroll: true });
    }
    document.title = `${h1 ? h1.textContent : 'Lineup'} — Lineup console`;
  }
}

function loading(view) {
  const p = h('p', { class: 'muted loading' }, 'Loading…');
  view.append(p);
  return () => p.remove();
}

// ------------------------------------------------------------------ login

async function pageLogin(view) {
  const name = field('Name', { name: 'name', autocomplete: 'username', required: true, id: 'login-name' });
  const password = field('Password', {
    name: 'password', type: 'password', autocomplete: 'current-password', required: true, id: 'login-password',
  });
  const button = h('button', { type: 'submit', class: 'btn primary' }, 'Sign in');
  const form = h('form', { class: 'card narrow', novalidate: true }, name, password, h('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const n = form.elements.name.value.trim();
    const p = form.elements.password.value;
    if (!n || !p) {
      formStatus(form, new Error('Enter your name and password.'));
      return;
    }
    await busy(button, 'Signing in…', async () => {
      let me = await api('POST', '/v1/session', { name: n, password: p });
      state.csrf = me.csrf;
      try {
        const s = await api('GET', '/v1/session');
        if (s && s.signed_in) me = { ...me, ...s };
      } catch {
        /* the sign-in answer is enough */
      }
      setSession(me);
      const after = sessionStorage.getItem('lineup.after');
      sessionStorage.removeItem('lineup.after');
      go(after || homeFor(state.role));
    }, form);
  });
  view.append(
    h('h1', {}, 'Sign in'),
    h('p', { class: 'lead' }, 'Lineup searches a photo collection for faces that resemble a probe photo. ',
      'Every search belongs to a case, needs a justification and is recorded in the audit log.'),
    form);
}

// ------------------------------------------------------------------ cases

async function pageCases(view) {
  view.append(h('h1', {}, 'Cases'));
  if (state.role === 'analyst') {
    view.append(h('p', { class: 'lead' },
      'Searches are made inside a case. You see the cases you opened or were added to.'));
  } else {
    view.append(h('p', { class: 'lead' }, 'All cases in this gallery.'));
  }
  const done = loading(view);
  const { cases } = await api('GET', '/v1/cases');
  done();

  if (state.role === 'analyst') {
    const title = field('Title', { name: 'title', required: true, maxlength: 500 },
      { help: 'A short description of the investigation.' });
    const authority = field('Authority', { name: 'authority', required: true, maxlength: 500 },
      { help: 'The legal authority for the searches: warrant, court order or file reference.' });
    const button = h('button', { type: 'submit', class: 'btn primary' }, 'Open case');
    const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'new-case-h' },
      h('h2', { id: 'new-case-h' }, 'Open a new case'), title, authority, h('div', { class: 'actions' }, button));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const t = form.elements.title.value.trim();
      const a = form.elements.authority.value.trim();
      if (!t || !a) {
        formStatus(form, new Error('A case needs a title and the authority it works under.'));
        return;
      }
      await busy(button, 'Opening…', async () => {
        const c = await api('POST', '/v1/cases', { title: t, authority: a });
        flash(`Case #${c.id} opened.`, 'ok', { keep: true });
        go(`#/cases/${c.id}`);
      }, form);
    });
    view.append(form);
  }

  const rows = cases.map((c) => [
    `#${c.id}`,
    h('a', { href: `#/cases/${c.id}` }, c.title),
    c.authority,
    c.status === 'open' ? badge('open', 'ok') : badge(c.status, 'muted'),
    c.created_by,
    timeEl(c.created_at),
    (c.members || []).join(', '),
  ]);
  view.append(h('h2', {}, 'Case list'),
    table(['Case', 'Title', 'Authority', 'Status', 'Opened by', 'Opened', 'Members'], rows,
      { empty: 'No cases yet.' }));
}

async function pageCase(view, id) {
  const done = loading(view);
  const c = await api('GET', `/v1/cases/${id}`);
  done();
  const open = c.status === 'open';
  view.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/cases' }, 'Cases'), ' › ', `Case #${c.id}`),
    h('h1', {}, `Case #${c.id}: ${c.title}`, ' ', open ? badge('open', 'ok') : badge('closed', 'muted')),
    dl([
      ['Authority', c.authority],
      ['Opened by', h('span', {}, `${c.created_by}, `, timeEl(c.created_at))],
      !open ? ['Closed', timeEl(c.closed_at)] : null,
      ['Members', h('span', { id: 'case-members' }, (c.members || []).join(', ') || '—')],
    ]));

  if (open) {
    const actions = h('div', { class: 'toolbar' });
    if (state.role === 'analyst') {
      actions.append(h('a', { class: 'btn primary', href: `#/cases/${c.id}/search` }, 'New search'));
      actions.append(h('a', { class: 'btn', href: `#/cases/${c.id}/persons`, id: 'persons-link' }, 'Persons'));
      actions.append(h('a', { class: 'btn', href: `#/cases/${c.id}/network`, id: 'network-link' }, 'Network'));
    }
    const closeBtn = h('button', { type: 'button', class: 'btn danger' }, 'Close case');
    closeBtn.addEventListener('click', async () => {
      if (!window.confirm(`Close case #${c.id}? No further searches can be made in it.`)) return;
      await busy(closeBtn, 'Closing…', async () => {
        await api('POST', `/v1/cases/${c.id}/close`);
        flash(`Case #${c.id} closed.`, 'ok', { keep: true });
        render();
      });
    });
    actions.append(closeBtn);
    view.append(actions);
    view.append(await addMemberForm(c));
  }

  if (state.role === 'analyst' && (c.members || []).includes(state.user)) view.append(evidenceExportForm(c.id));

  view.append(noticeBox());

  // Searches: each opens as it was shown (GET /v1/searches/{id}), without searching again.
  const searches = [...(c.searches || [])].reverse(); // newest first
  const leadCells = new Map();
  const searchRows = searches.map((s) => {
    const leads = h('span', { class: 'leads', 'data-search': s.id }, typeof s.leads === 'number' ? leadsText(s) : '…');
    leadCells.set(s.id, leads);
    return [
      h('a', { href: `#/cases/${c.id}/searches/${s.id}`, class: 'nowrap' }, `Search #${s.id}`),
      timeEl(s.at),
      s.user,
      h('span', { class: 'justification' }, s.justification),
      s.kind === 'photo' ? h('code', { title: s.probe_sha256 }, `photo ${String(s.probe_sha256).slice(0, 12)}…`) : s.kind,
      s.low_quality ? badge('low quality', 'warn') : 'ok',
      leads,
    ];
  });
  view.append(h('section', { 'aria-labelledby': 'searches-h', class: 'searches' },
    h('h2', { id: 'searches-h' }, 'Searches'),
    h('p', { class: 'help' }, 'Open a search to see its candidates, crops, provenance and reviews as they were shown. ',
      'Opening one does not search again.'),
    table(['Search', 'When', 'By', 'Justification', 'Probe', 'Probe quality', 'Leads'], searchRows,
      { empty: 'No search has been made in this case yet.', id: 'case-searches' })));
  // The case's list of searches has no lead count (docs/console.md): read it from each
  // recorded search, the 50 newest at most.
  const missing = searches.filter((s) => typeof s.leads !== 'number');
  missing.slice(0, 50).forEach((s) => {
    api('GET', `/v1/searches/${s.id}`).then((r) => {
      leadCells.get(s.id).textContent = leadsText(r);
    }, () => {
      leadCells.get(s.id).textContent = `${s.candidates.length} candidate(s)`;
    });
  });
  missing.slice(50).forEach((s) => {
    leadCells.get(s.id).textContent = `${s.candidates.length} candidate(s); open to see the leads`;
  });

  // Reviews: a possible match is shown as confirmed only when a second analyst confirmed it.
  const reviewRows = (c.reviews || []).map((r) => {
    let status;
    if (r.verdict !== 'possible_match') status = '—';
    else if (r.confirmed) {
      status = h('span', {}, badge('Confirmed', 'ok'), ` by ${r.confirmed_by}, `, timeEl(r.confirmed_at));
    } else {
      status = h('span', { class: 'stack' }, badge('Not confirmed', 'warn'),
        h('span', { class: 'muted' }, 'Needs a second analyst.'));
      if (state.role === 'analyst' && state.user !== r.analyst) {
        const btn = h('button', { type: 'button', class: 'btn small primary', 'data-review': r.id },
          `Confirm review #${r.id}`);
        btn.addEventListener('click', async () => {
          await busy(btn, 'Confirming…', async () => {
            await api('POST', `/v1/reviews/${r.id}/confirm`);
            flash(`Review #${r.id} confirmed.`, 'ok', { keep: true });
            render();
          });
        });
        status.append(btn);
      }
    }
    return [
      `#${r.id}`,
      h('img', { class: 'thumb-small', src: `/v1/searches/${r.search_id}/faces/${r.face_id}/thumbnail`, alt: `Gallery face #${r.face_id}` }),
      h('span', {}, `face #${r.face_id}, `, h('a', { href: `#/cases/${c.id}/searches/${r.search_id}` }, `search #${r.search_id}`)),
      verdictText(r),
      r.note || '—',
      h('span', {}, `${r.analyst}, `, timeEl(r.at)),
      status,
    ];
  });
  view.append(h('section', { 'aria-labelledby': 'reviews-h', class: 'reviews' },
    h('h2', { id: 'reviews-h' }, 'Reviews'),
    table(['Review', 'Face', 'Candidate', 'Verdict', 'Note', 'Reviewed by', 'Confirmation'], reviewRows,
      { empty: 'No candidate has been reviewed yet.' })));
}

function leadsText(s) {
  if (s.undecided) return 'undecided (probe too poor)';
  const n = s.leads;
  return n === 0 ? 'no lead' : n === 1 ? '1 lead' : `${n} leads`;
}

function verdictText(r) {
  if (r.verdict !== 'possible_match') return VERDICTS[r.verdict] || r.verdict;
  return r.confirmed ? 'Possible match (confirmed)' : 'Possible match (unconfirmed)';
}

// Adding a member: the active analysts who are not members yet (GET /v1/analysts).
async function addMemberForm(c) {
  let analysts = null;
  try {
    analysts = (await api('GET', '/v1/analysts')).analysts || [];
  } catch {
    analysts = null; // fall back to typing the name
  }
  const members = new Set(c.members || []);
  const candidates = (analysts || []).filter((a) => !members.has(a));
  const addBtn = h('button', { type: 'submit', class: 'btn' }, 'Add member');
  const help = 'The analyst can then search in this case and confirm possible matches. Only analysts can be members.';
  let member;
  if (analysts && !candidates.length) {
    return h('div', { class: 'card inline-form', id: 'add-member' },
      h('h2', {}, 'Add an analyst to this case'),
      h('p', { class: 'muted' }, 'Every active analyst is already a member of this case.'));
  }
  if (analysts) {
    member = field('Analyst', { name: 'user', required: true, id: 'member-name' },
      { kind: 'select', options: [['', 'Choose an analyst…'], ...candidates.map((a) => [a, a])], help });
  } else {
    member = field('Analyst name', { name: 'user', required: true, autocomplete: 'off', id: 'member-name' }, { help });
  }
  const form = h('form', { class: 'card inline-form', novalidate: true, 'aria-labelledby': 'add-member-h', id: 'add-member' },
    h('h2', { id: 'add-member-h' }, 'Add an analyst to this case'), member, h('div', { class: 'actions' }, addBtn));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const user = form.elements.user.value.trim();
    if (!user) {
      formStatus(form, new Error('Choose the analyst to add.'));
      return;
    }
    await busy(addBtn, 'Adding…', async () => {
      await api('POST', `/v1/cases/${c.id}/members`, { user });
      flash(`${user} is now a member of case #${c.id}.`, 'ok', { keep: true });
      render();
    }, form);
  });
  return form;
}

// ------------------------------------------------------------------ evidence export

// A case as a signed evidence bundle (docs/evidence.md): POST /v1/cases/{id}/export
// answers a ZIP, which the browser saves. Members of the case (on its page) and auditors
// (on the Audit page, by case number) may; the export and its manifest's SHA-256 go into
// the audit log.
function evidenceExportForm(caseId) {
  const idPrefix = caseId ? 'case-export' : 'audit-export';
  const caseField = caseId ? null
    : field('Case number', { name: 'case', type: 'number', min: 1, required: true, id: `${idPrefix}-case` });
  const why = field('Why is it exported?', { name: 'export_why', required: true, id: `${idPrefix}-why`, rows: 2 },
    { kind: 'textarea', help: 'For example the court order or disclosure request. Kept in the audit log.' });
  const btn = h('button', { type: 'submit', class: 'btn', id: `${idPrefix}-button` }, 'Export evidence (ZIP)');
  const result = h('div', { class: 'export-result', id: `${idPrefix}-result`, 'aria-live': 'polite' });
  const form = h('form', { class: 'card inline-form', novalidate: true, id: idPrefix, 'aria-labelledby': `${idPrefix}-h` },
    h('h2', { id: `${idPrefix}-h` }, 'Evidence export'),
    h('p', { class: 'help' }, 'A self-contained bundle for a court or a defence expert: the case and its authority, every ',
      'search with its probe, threshold and candidates (crops, scores, provenance), every review, the case\'s audit ',
      'records, the model\'s error rates, and a report (HTML and PDF). It is signed with the gallery\'s key; ',
      h('code', {}, 'lineup evidence verify'), ' checks that nothing in it was changed.'),
    caseField, why, h('div', { class: 'actions' }, btn), result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = caseId || (form.elements.case.value || '').trim();
    if (!caseId && !/^[1-9][0-9]*$/.test(id)) {
      formStatus(form, new Error('Give the number of the case to export.'));
      return;
    }
    const justification = requiredText(form, 'export_why', 'Write why the case is exported first.');
    if (!justification) return;
    await busy(btn, 'Exporting…', async () => {
      let res;
      try {
        res = await fetch(`/v1/cases/${id}/export`, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': state.csrf || '', Accept: 'application/zip' },
          body: JSON.stringify({ justification }),
        });
      } catch (e) {
        throw new ApiError(0, 'network', `Cannot reach the Lineup server (${e.message}).`);
      }
      if (!res.ok) {
        let data = null;
        try {
          data = await res.json();
        } catch {
          data = null;
        }
        throw new ApiError(res.status, (data && data.error && data.error.code) || 'error',
          (data && data.error && data.error.message) || `The server answered ${res.status}.`);
      }
      const blob = await res.blob();
      const file = `case-${id}-evidence.zip`;
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: file, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      const sha = res.headers.get('X-Lineup-Manifest-SHA256') || '';
      const fp = res.headers.get('X-Lineup-Key-Fingerprint') || '';
      result.replaceChildren(
        h('p', { class: 'verdict-ok' }, `Case #${id} exported as ${file} (${fmtCount(blob.size)} bytes), recorded in the audit log as record #${res.headers.get('X-Lineup-Audit-Seq') || '?'}.`),
        dl([
          ['Manifest SHA-256', h('code', { class: 'hash', id: `${idPrefix}-sha` }, sha)],
          ['Signing key fingerprint', h('code', { class: 'hash', id: `${idPrefix}-fingerprint` }, fp)],
        ]),
        h('p', { class: 'help' }, 'Hand the fingerprint over separately from the bundle, so that its receiver can check ',
          'the signature against a key they did not get from the bundle itself.'));
    }, form);
  });
  return form;
}

// ------------------------------------------------------------------ search

// The formats the server decodes (docs/formats.md). Browsers often call the less common
// ones application/octet-stream, so their extensions are let through by name.
const IMAGE_EXTENSIONS = ['pgm', 'ppm', 'pbm', 'pnm', 'pam', 'pfm', 'ras', 'sr', 'hdr', 'pic', 'jp2', 'j2k', 'j2c'];
const IMAGE_ACCEPT = `image/*,${IMAGE_EXTENSIONS.map((e) => `.${e}`).join(',')}`;
const IMAGE_FORMATS = 'JPEG, PNG, WebP, BMP, TIFF, Netpbm, Sun raster, Radiance HDR or JPEG 2000';

// Why `f` cannot be a photo for the server, or null. The server checks the content
// anyway; this only spares a round trip for a file that is plainly something else.
function imageFileProblem(f) {
  const ext = (/\.([a-z0-9]+)$/i.exec(f.name || '') || [])[1];
  if (ext && IMAGE_EXTENSIONS.includes(ext.toLowerCase())) return null;
  if (!f.type || /^image\//.test(f.type)) return null;
  return `${f.name} is not a photo (the browser says ${f.type}). Choose a ${IMAGE_FORMATS} file.`;
}

async function pageSearch(view, caseId) {
  const done = loading(view);
  const c = await api('GET', `/v1/cases/${caseId}`);
  done();
  view.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' },
      h('a', { href: '#/cases' }, 'Cases'), ' › ', h('a', { href: `#/cases/${c.id}` }, `Case #${c.id}`), ' › ', 'Search'),
    h('h1', {}, `Search the gallery — case #${c.id}: ${c.title}`));
  if (c.status !== 'open') {
    view.append(h('p', { class: 'error-box', role: 'alert' }, 'This case is closed: no further searches can be made in it.'));
    return;
  }
  view.append(noticeBox());

  // The photo the next search sends: only ever the file the analyst chose last, and none
  // after a file was refused.
  let file = null;
  let previewUrl = null;

  const fileInput = h('input', {
    type: 'file', id: 'probe-file', name: 'image', accept: IMAGE_ACCEPT, class: 'file-input', 'aria-describedby': 'probe-file-status',
  });
  const fileName = h('span', { class: 'file-name', id: 'probe-file-status', 'aria-live': 'polite' }, 'No photo chosen.');
  const preview = h('img', { class: 'preview', alt: 'The chosen probe photo', hidden: true });
  const noPreview = h('p', { class: 'no-preview', id: 'no-preview', hidden: true });
  const drop = h('div', { class: 'dropzone', id: 'dropzone' },
    h('p', {}, h('strong', {}, 'Drag and drop a photo here'), ', or ',
      h('label', { for: 'probe-file' }, 'choose the probe photo'), ':'),
    fileInput, fileName, preview, noPreview,
    h('p', { class: 'help' }, `${IMAGE_FORMATS}.`));

  const justification = field('Justification', { name: 'justification', required: true, rows: 3, maxlength: 2000, id: 'justification' },
    { kind: 'textarea', help: 'Why this search is necessary and proportionate. It is stored with the search in the audit log.' });
  const top = field('Most candidates to show', { name: 'top', type: 'number', min: 1, max: 200, value: '10', id: 'opt-top' });
  const fpir = field('Decision', { name: 'fpir', value: '0.01', id: 'opt-fpir' }, {
    kind: 'select',
    options: [['0.05', '5% of searches (more leads, more false ones)'], ['0.01', '1% of searches (default)'],
      ['0.001', '0.1% of searches (fewer, stronger leads)']],
    help: 'At most this share of searches for someone who is not in the gallery returns a lead. '
      + 'The score threshold follows from it and the gallery’s size.',
  });
  const fmr = field('Per-comparison false match rate (experts)', { name: 'fmr', value: '', id: 'opt-fmr' }, {
    kind: 'select',
    options: [['', 'not used: decide by the share of searches'], ['0.001', '1 in 1,000 comparisons'],
      ['0.0001', '1 in 10,000 comparisons'], ['0.00001', '1 in 100,000 comparisons']],
    help: 'Replaces the decision above. In a large gallery a per-comparison rate returns false leads in many searches.',
  });
  const all = h('div', { class: 'field checkbox' },
    h('input', { type: 'checkbox', name: 'all', id: 'opt-all' }),
    h('label', { for: 'opt-all' }, 'Also show candidates that are not leads'));
  const subjects = h('div', { class: 'field checkbox' },
    h('input', { type: 'checkbox', name: 'subjects', id: 'opt-subjects', checked: true }),
    h('label', { for: 'opt-subjects' }, 'Group the candidates by known subject (looks deeper into the gallery)'));
  // As the CLI's --keep-probe and the API's keep_probe: offered here because a search in
  // the console is always made in a case (this page's), and only an open one.
  const keepProbe = h('div', { class: 'field checkbox with-help', id: 'keep-probe-field' },
    h('input', { type: 'checkbox', name: 'keep_probe', id: 'opt-keep-probe', 'aria-describedby': 'keep-probe-help' }),
    h('label', { for: 'opt-keep-probe' }, `Keep the probe photo in case #${c.id}`),
    h('p', { class: 'help', id: 'keep-probe-help' },
      'The case always keeps the searched face’s crop. Tick this when the photo itself is evidence: the case then keeps ',
      'it too, and the case’s evidence export includes it.'));
  const button = h('button', { type: 'submit', class: 'btn primary', disabled: true, 'aria-describedby': 'probe-file-status' }, 'Search');
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'probe-h', id: 'search-form' },
    h('h2', { id: 'probe-h' }, 'Probe photo'), drop, justification, keepProbe,
    h('details', { class: 'options' }, h('summary', {}, 'Search options'),
      h('div', { class: 'grid-3' }, top, fpir, h('div', {}, all, subjects)),
      h('details', { class: 'options expert' }, h('summary', {}, 'Expert setting'), h('div', { class: 'grid-3' }, fmr))),
    h('div', { class: 'actions' }, button));
  const results = h('section', { id: 'results', class: 'results', 'aria-live': 'polite', 'aria-busy': 'false' });
  view.append(form, results);

  const syncButton = () => {
    button.disabled = !file;
  };
  const clearFile = () => {
    file = null;
    fileInput.value = '';
    preview.hidden = true;
    preview.removeAttribute('src');
    noPreview.hidden = true;
    fileName.textContent = 'No photo chosen.';
    syncButton();
  };
  const setFile = (f) => {
    formStatus(form, null);
    if (!f) {
      clearFile();
      return;
    }
    const problem = imageFileProblem(f);
    if (problem) {
      clearFile();
      formStatus(form, new Error(problem));
      return;
    }
    file = f;
    previewUrl = URL.createObjectURL(f);
    noPreview.hidden = true;
    preview.hidden = false;
    preview.src = previewUrl;
    fileName.textContent = `${f.name} (${fmtCount(Math.max(1, Math.round(f.size / 1024)))} KB)`;
    syncButton();
  };
  preview.addEventListener('error', () => {
    if (!file || !preview.getAttribute('src')) return;
    preview.hidden = true;
    noPreview.hidden = false;
    noPreview.textContent = `No preview for this format: ${file.name}. The browser cannot show it; the server reads it when you search.`;
  });
  fileInput.addEventListener('change', () => setFile(fileInput.files[0] || null));
  for (const ev of ['dragenter', 'dragover']) {
    drop.addEventListener(ev, (e) => {
      e.preventDefault();
      drop.classList.add('dragging');
    });
  }
  for (const ev of ['dragleave', 'drop']) drop.addEventListener(ev, () => drop.classList.remove('dragging'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files.length) setFile(e.dataTransfer.files[0]);
  });

  let shown = null; // the photo whose results are on screen: another of its faces can be searched
  const runSearch = async (faceN) => {
    const just = form.elements.justification.value.trim();
    const photo = faceN ? shown : file && { file, url: previewUrl };
    if (!photo) return formStatus(form, new Error('Choose a probe photo first.'));
    if (!just) return formStatus(form, new Error('A justification is required for every search.'));
    const fd = new FormData();
    fd.append('image', photo.file, photo.file.name || 'probe');
    fd.append('justification', just);
    fd.append('top', form.elements.top.value || '10');
    if (form.elements.fmr.value) fd.append('fmr', form.elements.fmr.value);
    else fd.append('fpir', form.elements.fpir.value);
    if (form.elements.all.checked) fd.append('all', 'true');
    if (form.elements.subjects.checked) fd.append('subjects', 'true');
    if (form.elements.keep_probe.checked) fd.append('keep_probe', 'true');
    if (faceN) fd.append('face', String(faceN));
    results.setAttribute('aria-busy', 'true');
    results.replaceChildren(h('p', { class: 'muted loading' },
      faceN ? `Searching face ${faceN} of ${photo.file.name}…` : 'Searching… finding faces and comparing them with the gallery.'));
    await busy(button, 'Searching…', async () => {
      try {
        const r = await api('POST', `/v1/cases/${c.id}/searches`, fd);
        shown = photo;
        await renderResults(results, r, { photo, rerun: (n) => runSearch(n) });
        results.scrollIntoView({ block: 'start' });
      } catch (err) {
        results.replaceChildren(errorBox(err));
      } finally {
        results.setAttribute('aria-busy', 'false');
      }
    }, form);
    syncButton();
    return undefined;
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    runSearch(0);
  });
}

// A search reopened from the case's record (GET /v1/searches/{id}): what was shown when
// it ran, with the reviews made since. Nothing is searched again.
async function pageRecordedSearch(view, caseId, searchId) {
  const done = loading(view);
  const r = await api('GET', `/v1/searches/${searchId}`);
  done();
  const cid = r.case_id || caseId;
  const probe = r.probe || {};
  view.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' },
      h('a', { href: '#/cases' }, 'Cases'), ' › ', h('a', { href: `#/cases/${cid}` }, `Case #${cid}`), ' › ',
      `Search #${r.search_id}`),
    h('h1', {}, `Search #${r.search_id} in case #${cid}`),
    h('p', { class: 'lead' }, 'As it was shown when it was run, from the case’s record: nothing is searched again. ',
      'Reviews and confirmations made since are shown with each candidate.'),
    dl([
      ['When', timeEl(r.at)],
      ['By', r.user || '—'],
      ['Justification', h('span', { id: 'recorded-justification' }, r.justification || '—')],
      ['Probe', probe.kind === 'photo'
        ? h('span', {}, probe.name ? pathEl(probe.name, 60) : 'a photo', ' ',
          h('code', { class: 'hash', title: probe.image_sha256 }, `SHA-256 ${String(probe.image_sha256 || '').slice(0, 16)}…`))
        : (probe.kind || '—')],
    ]));
  if (state.role === 'analyst') {
    view.append(h('div', { class: 'toolbar' }, h('a', { class: 'btn', href: `#/cases/${cid}/search` }, 'New search in this case')));
  }
  const results = h('section', { id: 'results', class: 'results' });
  view.append(results);
  await renderResults(results, r, { recorded: true });
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('The browser cannot display this photo.'));
    img.src = url;
  });
}

async function sha256Hex(blob) {
  if (!(window.crypto && crypto.subtle)) throw new Error('This browser cannot check the photo here (no Web Crypto).');
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

// Draws the probe photo with each detected face as a numbered box (the numbers the API
// calls `face`); the searched face is yellow. Without the photo (a reopened search, or a
// format the browser cannot show) the boxes are drawn on grey at their places.
function drawProbe(canvas, img, probe) {
  const W = probe.width || (img && img.naturalWidth);
  const H = probe.height || (img && img.naturalHeight);
  if (!W || !H) return;
  const scale = Math.min(1, 720 / W);
  const w = Math.round(W * scale);
  const hh = Math.round(H * scale);
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(hh * dpr);
  canvas.style.width = `${w}px`;
  canvas.classList.add('probe-canvas');
  const ctx = canvas.getContext('2d');
  ctx.scale(dpr, dpr);
  if (img) ctx.drawImage(img, 0, 0, w, hh);
  else {
    ctx.fillStyle = '#d9dde3';
    ctx.fillRect(0, 0, w, hh);
  }
  const font = 16;
  ctx.font = `bold ${font}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  for (const f of probe.faces || []) {
    const [x, y, bw, bh] = f.box;
    const searched = f.face === probe.searched_face;
    ctx.lineWidth = searched ? 4 : 2;
    ctx.strokeStyle = searched ? '#f2c14e' : '#ffffff';
    ctx.shadowColor = 'rgba(0,0,0,0.7)';
    ctx.shadowBlur = 3;
    ctx.strokeRect(x * scale, y * scale, bw * scale, bh * scale);
    ctx.shadowBlur = 0;
    const label = `face ${f.face}`;
    const tw = ctx.measureText(label).width + 10;
    const ly = Math.max(0, y * scale - font - 8);
    ctx.fillStyle = searched ? '#f2c14e' : '#1f3a5f';
    ctx.fillRect(x * scale, ly, tw, font + 8);
    ctx.fillStyle = searched ? '#111111' : '#ffffff';
    ctx.fillText(label, x * scale + 5, ly + 4);
  }
}

// The searched face of the probe, cut out square with some margin, `size` CSS pixels.
function drawProbeFace(canvas, img, probe, size) {
  const f = (probe.faces || []).find((x) => x.face === probe.searched_face);
  if (!f || !img) return false;
  const k = img.naturalWidth / (probe.width || img.naturalWidth);
  const [x, y, bw, bh] = f.box.map((v) => v * k);
  const side = Math.max(bw, bh) * 1.35;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(size * dpr);
  canvas.height = Math.round(size * dpr);
  canvas.style.width = `${size}px`;
  canvas.style.height = `${size}px`;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#d9dde3';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, x + bw / 2 - side / 2, y + bh / 2 - side / 2, side, side, 0, 0, canvas.width, canvas.height);
  return true;
}

// The face (1-based) whose box holds the point (px, py) of the photo, or 0.
function faceAt(probe, px, py) {
  let best = 0;
  let area = Infinity;
  for (const f of probe.faces || []) {
    const [x, y, w, hh] = f.box;
    if (px >= x && px <= x + w && py >= y && py <= y + hh && w * hh < area) {
      best = f.face;
      area = w * hh;
    }
  }
  return best;
}

function candidateStatus(cd) {
  if (cd.withheld) return 'withheld';
  return cd.above_threshold ? 'lead' : 'below';
}

function statusBadge(cd) {
  const s = candidateStatus(cd);
  if (s === 'lead') return h('span', { class: 'status status-lead' }, 'LEAD');
  if (s === 'withheld') return h('span', { class: 'status status-withheld' }, 'WITHHELD');
  return h('span', { class: 'status status-below' }, 'below threshold');
}

// The decision in plain words: "threshold 0.4474: at most 1% of searches for someone
// not in the gallery return a lead like this, for 266 faces".
function decisionSentence(r) {
  const d = r.decision || {};
  const thr = typeof d.threshold === 'number' ? d.threshold : r.threshold;
  const n = fmtCount(typeof d.gallery_size === 'number' ? d.gallery_size : r.gallery_size);
  const t = typeof thr === 'number' ? `threshold ${thr.toFixed(4)}` : 'threshold unknown';
  if (!r.decision) {
    return `${t} (per-comparison false match rate ${fmtRate(r.fmr)}), for ${n} faces`;
  }
  if (d.basis === 'fmr') {
    return `${t}, set by an expert to a false match rate of ${fmtRate(d.fmr)} per comparison: `
      + `${fmtRate(d.fpir)} of searches for someone not in the gallery return a lead like this, for ${n} faces`;
  }
  if (d.beyond_calibration) {
    return `${t}, the strictest the calibration supports: ${fmtRate(d.fpir)} of searches for someone not in the `
      + `gallery return a lead like this (more than the ${fmtRate(d.target_fpir)} asked for), for ${n} faces`;
  }
  return `${t}: at most ${fmtRate(typeof d.target_fpir === 'number' ? d.target_fpir : d.fpir)} of searches for someone `
    + `not in the gallery return a lead like this, for ${n} faces`;
}

// Reviews of one search, by face: each analyst's latest verdict counts.
function reviewModel(reviews) {
  const list = [...(reviews || [])];
  const listeners = new Map(); // face_id -> Set of refresh functions of the cards on screen
  return {
    of(faceId) {
      const latest = new Map();
      for (const r of list.filter((x) => x.face_id === faceId).sort((a, b) => a.id - b.id)) latest.set(r.analyst, r);
      return [...latest.values()];
    },
    mine(faceId) {
      return this.of(faceId).find((r) => r.analyst === state.user) || null;
    },
    put(review) {
      const i = list.findIndex((x) => x.id === review.id);
      if (i >= 0) list[i] = { ...list[i], ...review };
      else list.push(review);
      for (const fn of listeners.get(review.face_id) || []) fn();
    },
    listen(faceId, fn) {
      if (!listeners.has(faceId)) listeners.set(faceId, new Set());
      listeners.get(faceId).add(fn);
    },
    forget() {
      listeners.clear();
    },
  };
}

// Shows a search's results (the answer of POST /v1/cases/{id}/searches, or a recorded
// search). `photo` {file, url}: the probe photo in this browser, if any; `rerun(n)`
// searches face n of it again.
async function renderResults(container, r, { photo = null, rerun = null, recorded = false } = {}) {
  const probe = r.probe || {};
  const cands = r.candidates || [];
  const ctx = {
    r,
    reviews: reviewModel(r.reviews),
    canReview: state.role === 'analyst',
    selected: cands.length ? cands[0].face_id : null,
    probeImg: null,
    recorded,
    refreshCompare: () => {},
    refreshCards: () => {},
  };
  if (photo && photo.url) {
    try {
      ctx.probeImg = await loadImage(photo.url);
    } catch {
      ctx.probeImg = null; // a format the browser cannot show: boxes on grey
    }
  }

  const parts = [
    h('h2', { id: 'results-h' }, `Results of search #${r.search_id}`),
    h('div', { class: 'notice strong', role: 'note', id: 'lead-notice' },
      h('strong', {}, 'Leads, not identifications. '), r.notice || state.notice),
  ];
  if (r.undecided) {
    parts.push(h('div', { class: 'undecided-box', role: 'alert', id: 'undecided-warning' },
      h('strong', {}, 'Cannot decide. '),
      'The probe face is too poor for any candidate to be called a lead, however high its score. ',
      'The candidates below are for orientation only: search again with a better photo.'));
  }
  if (r.probe_photo_kept) {
    parts.push(h('p', { class: 'kept-note', id: 'probe-kept' },
      `Case #${r.case_id} keeps this probe photo; its evidence export includes it.`));
  }
  if (r.warnings && r.warnings.length) {
    parts.push(h('div', { class: 'warning-box', role: 'alert', id: 'search-warnings' },
      h('strong', {}, 'Warning'), h('ul', {}, r.warnings.map((w) => h('li', {}, w)))));
  }
  parts.push(decisionBox(r));

  // The probe and the side-by-side view.
  const top = h('div', { class: 'probe-panel' });
  if (probe.kind === 'photo') top.append(probePanel(ctx, probe, photo, rerun, recorded));
  else top.append(h('p', { class: 'muted' }, 'The probe was a vector: there is no photo to show.'));
  const compare = h('section', { class: 'compare card', id: 'compare', 'aria-labelledby': 'compare-h', 'aria-live': 'polite' });
  top.append(compare);
  parts.push(top);

  // The candidates, in rank order or grouped by subject.
  const listBox = h('div', { id: 'candidates' });
  const hasSubjects = cands.some((cd) => cd.subject);
  const viewName = uid('view');
  let grouped = false;
  const drawList = () => {
    ctx.reviews.forget();
    listBox.replaceChildren(grouped ? subjectGroupsView(ctx) : rankView(ctx));
  };
  ctx.refreshCards = drawList;
  parts.push(h('h3', { id: 'candidates-h' }, `Candidates (${cands.length})`));
  if (hasSubjects) {
    const radio = (value, text, checked) => {
      const id = uid('v');
      const input = h('input', { type: 'radio', name: viewName, value, id, checked });
      input.addEventListener('change', () => {
        grouped = value === 'subject';
        drawList();
      });
      return h('span', { class: 'radio' }, input, h('label', { for: id }, text));
    };
    parts.push(h('fieldset', { class: 'view-toggle', id: 'view-toggle' }, h('legend', {}, 'Show the candidates'),
      radio('rank', 'in rank order', true), radio('subject', 'grouped by subject', false)));
  }
  if (!cands.length) {
    parts.push(h('p', { class: 'empty-result' },
      'No candidate scored above the threshold. This does not mean the person is not in the gallery: ',
      'the photo may be of low quality, or the person may look different in the gallery photos.'));
  }
  parts.push(listBox);
  container.replaceChildren(...parts);
  drawList();

  ctx.refreshCompare = () => fillCompare(compare, ctx);
  ctx.refreshCompare();
}

function decisionBox(r) {
  const d = r.decision || {};
  const cands = r.candidates || [];
  const leads = typeof r.leads === 'number' ? r.leads : cands.filter((c) => c.above_threshold).length;
  const withheld = cands.filter((c) => c.withheld).length;
  let count;
  if (r.undecided) count = 'No lead: the probe is too poor to decide.';
  else if (!leads) count = 'No candidate is a lead. This does not mean the person is not in the gallery.';
  else count = `${leads === 1 ? '1 candidate is a lead' : `${leads} candidates are leads`} for human review.`;
  if (withheld && !r.undecided) count += ` ${withheld} withheld (see why on the card).`;
  const cal = r.calibration || {};
  return h('section', { class: 'decision', id: 'decision', 'aria-labelledby': 'decision-h' },
    h('h3', { id: 'decision-h' }, 'Decision'),
    h('p', { class: 'decision-text', id: 'decision-text' }, decisionSentence(r), '.'),
    h('p', { class: 'lead-count', id: 'lead-count' }, count),
    differentialsStatement(d),
    h('details', { class: 'more' }, h('summary', {}, 'How this was decided'),
      dl([
        ['FPIR of a candidate', 'The share of searches for someone not in the gallery that return a candidate '
          + `scoring at least this much (${r.fpir_formula || 'fpir = 1 - (1 - FMR(score))^gallery_size'}).`],
        typeof d.fmr === 'number' ? ['Per comparison', `false match rate ${fmtRate(d.fmr)} at the threshold`] : null,
        r.model ? ['Model', r.model] : null,
        cal.file ? ['Calibration', h('span', {}, `${cal.file} `, h('code', { class: 'hash', title: cal.sha256 }, String(cal.sha256 || '').slice(0, 12)))] : null,
      ])));
}

// How the model's error rates differ between demographic groups at this decision's
// threshold: the server's sentence (one library function writes it for every front end),
// linked to the full table. Nothing when the calibration measured no groups.
function differentialsStatement(d) {
  const diff = d && d.differentials;
  if (!diff || !diff.text) return null;
  const href = `#/differentials?threshold=${encodeURIComponent(diff.threshold)}`;
  return h('p', { class: 'differentials', id: 'differentials-statement' },
    h('strong', {}, 'Demographic differentials: '), diff.text, ' ',
    h('a', { href, id: 'differentials-link' }, 'See the full table'), '.');
}

// The table behind the statement: each group's rates at the calibrated thresholds (and at
// the decision's, when the link came from one).
async function pageDifferentials(view) {
  const query = new URLSearchParams(location.hash.split('?')[1] || '');
  const t = Number(query.get('threshold'));
  const done = loading(view);
  const table = await api('GET', `/v1/differentials${query.has('threshold') && Number.isFinite(t) ? `?threshold=${t}` : ''}`);
  done();
  const groups = (table.groups || []).map((g) => g.group);
  const head = h('tr', {}, h('th', { scope: 'col' }, 'Threshold'),
    groups.map((g) => [h('th', { scope: 'col' }, `FMR ${g}`), h('th', { scope: 'col' }, `FNMR ${g}`)]),
    h('th', { scope: 'col' }, 'FMR ratio'), h('th', { scope: 'col' }, 'FNMR ratio'));
  const ratio = (x) => (typeof x === 'number' ? `${x.toFixed(2)}×` : '—');
  const rows = (table.rows || []).map((row) => h('tr', { class: row.label === 'this decision' ? 'current' : null },
    h('th', { scope: 'row' }, `${row.threshold.toFixed(4)} `, h('span', { class: 'muted' }, `(${row.label})`)),
    groups.map((g) => {
      const x = (row.groups || {})[g] || {};
      return [h('td', {}, `${x.fmr_measured === false ? 'under ' : ''}${typeof x.fmr === 'number' ? x.fmr.toExponential(1) : '—'}`),
        h('td', {}, typeof x.fnmr === 'number' ? `${(100 * x.fnmr).toFixed(2)}%` : '—')];
    }),
    h('td', {}, ratio(row.fmr_ratio), row.fmr_ratio_at_threshold === false ? ` (at ${row.fmr_ratio_threshold.toFixed(4)})` : ''),
    h('td', {}, ratio(row.fnmr_ratio))));
  const current = (table.rows || []).find((row) => row.label === 'this decision');
  view.append(
    h('h1', {}, 'Demographic differentials of the model'),
    h('p', { class: 'lead' }, 'How often the model’s errors fall on each group, at the thresholds its decisions use. ',
      'A property of the model, measured on a labelled set; never a statement about a probe: no group is inferred from a face.'),
    current ? h('p', { class: 'differentials', id: 'differentials-current' }, current.text) : null,
    h('div', { class: 'table-wrap' }, h('table', { id: 'differentials-table' }, h('thead', {}, head), h('tbody', {}, rows))),
    dl([
      ['Measured on', table.dataset],
      ['Pairs', (table.groups || []).map((g) => `${g.group}: ${fmtCount(g.impostor_pairs)} impostor, ${fmtCount(g.genuine_pairs)} genuine`).join('; ')],
      ['Model', table.model],
      ['How', h('code', {}, table.command || '')],
      ['About', table.about],
    ]));
}

function probePanel(ctx, probe, photo, rerun, recorded) {
  const faces = probe.faces || [];
  const canvas = h('canvas', {
    role: 'img',
    id: 'probe-canvas',
    'aria-label': `The probe photo with ${faces.length} face(s) outlined and numbered; face ${probe.searched_face} was searched.`,
  });
  const caption = h('figcaption', {});
  const draw = () => {
    drawProbe(canvas, ctx.probeImg, probe);
    caption.replaceChildren(
      `${faces.length === 1 ? '1 face' : `${faces.length} faces`} found in the photo (${probe.width}×${probe.height} pixels); `,
      `face ${probe.searched_face} (yellow) was searched.`,
      rerun && faces.length > 1 ? ' Click another face to search it.' : '',
      !ctx.probeImg ? (recorded ? (ctx.r.probe_photo_kept
        ? ' The case keeps the photo for its evidence export, but the console does not show it: the boxes are drawn where the faces were.'
        : ' The server keeps no copy of the photo: the boxes are drawn where the faces were.')
        : ' The browser cannot show this format: the boxes are drawn where the faces are.') : '');
  };
  draw();
  if (rerun && faces.length > 1) {
    const pointAt = (ev) => {
      const rect = canvas.getBoundingClientRect();
      return faceAt(probe, ((ev.clientX - rect.left) / rect.width) * probe.width, ((ev.clientY - rect.top) / rect.height) * probe.height);
    };
    canvas.addEventListener('mousemove', (ev) => {
      const n = pointAt(ev);
      canvas.style.cursor = n && n !== probe.searched_face ? 'pointer' : '';
    });
    canvas.addEventListener('click', (ev) => {
      const n = pointAt(ev);
      if (n && n !== probe.searched_face) rerun(n);
    });
  }
  const list = h('ol', { class: 'face-list', id: 'face-list' }, faces.map((f) => {
    const searched = f.face === probe.searched_face;
    const reasons = f.quality_reasons && f.quality_reasons.length ? ` (${f.quality_reasons.join(', ')})` : '';
    return h('li', { class: searched ? 'searched' : '', 'data-face': f.face },
      h('span', {}, h('strong', {}, `Face ${f.face}`), `: quality ${fmtScore(f.quality)}${reasons}`),
      searched ? badge('searched', 'ok')
        : rerun ? h('button', { type: 'button', class: 'btn small', onclick: () => rerun(f.face) }, `Search face ${f.face} instead`)
          : null);
  }));
  const side = h('div', {}, h('h3', {}, 'Faces in the photo'), list);
  if (rerun && faces.length > 1) {
    side.append(h('p', { class: 'help' }, 'Searching another face runs a new search, recorded in the audit log with the justification above.'));
  }
  if (recorded && !ctx.probeImg && probe.image_sha256) {
    // The analyst's own copy of the probe, checked against the recorded SHA-256 and never uploaded.
    const input = h('input', { type: 'file', accept: IMAGE_ACCEPT, id: 'probe-copy' });
    const status = h('p', { class: 'help', 'aria-live': 'polite' });
    input.addEventListener('change', async () => {
      const f = input.files[0];
      if (!f) return;
      try {
        if ((await sha256Hex(f)) !== probe.image_sha256) throw new Error(`${f.name} is not the photo that was searched (its SHA-256 differs).`);
        ctx.probeImg = await loadImage(URL.createObjectURL(f));
        status.textContent = `${f.name} is the photo that was searched (SHA-256 checked). It stays in this browser.`;
        draw();
        ctx.refreshCompare();
      } catch (err) {
        status.textContent = messageOf(err);
      }
    });
    side.append(h('div', { class: 'field' }, h('label', { for: 'probe-copy' }, 'Show the probe from your copy of the photo'), input,
      h('p', { class: 'help' }, 'Checked against the recorded SHA-256; it is not uploaded.'), status));
  }
  return h('div', { class: 'probe-figure' }, h('figure', {}, canvas, caption), side);
}

// The side-by-side view: the probe face and the chosen candidate, large.
function fillCompare(box, ctx) {
  const cd = (ctx.r.candidates || []).find((x) => x.face_id === ctx.selected);
  if (!cd) {
    box.replaceChildren(h('h3', { id: 'compare-h' }, 'Side by side'), h('p', { class: 'muted' }, 'No candidate to compare.'));
    return;
  }
  const size = 240;
  const probe = ctx.r.probe || {};
  const probeCanvas = h('canvas', { class: 'compare-img', id: 'compare-probe', role: 'img', 'aria-label': `Face ${probe.searched_face} of the probe photo` });
  const probeFig = drawProbeFace(probeCanvas, ctx.probeImg, probe, size)
    ? probeCanvas
    : h('div', { class: 'compare-img placeholder', id: 'compare-probe' }, 'No picture of the probe here: ',
      probe.kind !== 'photo' ? 'the probe was a vector.'
        : ctx.recorded ? 'the server keeps no copy of the photo (show it from your copy, below the photo’s boxes).'
          : 'the browser cannot show this photo’s format.');
  const src = cd.source || {};
  box.replaceChildren(
    h('h3', { id: 'compare-h' }, `Side by side: the probe and rank ${cd.rank}`),
    h('div', { class: 'compare-pair' },
      h('figure', {}, probeFig, h('figcaption', {}, `Probe, face ${probe.searched_face || '—'}`)),
      h('figure', {}, h('img', { class: 'compare-img', id: 'compare-candidate', src: cd.thumbnail, alt: `Gallery face #${cd.face_id}` }),
        h('figcaption', {}, `Rank ${cd.rank}: gallery face #${cd.face_id}${cd.subject ? `, ${cd.subject}` : ''}`))),
    h('p', { class: 'compare-facts', id: 'compare-facts' },
      statusBadge(cd), ' ', `Score ${fmtScore(cd.score)} · FPIR ${fmtRate(cd.fpir)}`, src.name ? ` · source ${src.name}` : ''),
    cd.withheld ? h('p', { class: 'withheld-reason' }, `Not a lead: ${cd.withheld}.`) : '');
}

function rankView(ctx) {
  return h('ul', { class: 'cand-grid', id: 'cands-by-rank', 'aria-label': 'Candidates in rank order' },
    (ctx.r.candidates || []).map((cd) => candidateCard(ctx, cd)));
}

// Candidates grouped by known subject, as `lineup search --subjects` prints them: each
// subject with its best face first, then its other faces; unnamed faces last.
function subjectGroupsView(ctx) {
  const cands = ctx.r.candidates || [];
  const byFace = new Map(cands.map((c) => [c.face_id, c]));
  const groups = [];
  const seen = new Set();
  for (const s of ctx.r.subjects || []) {
    const best = byFace.get(s.best);
    if (!best || seen.has(s.subject)) continue;
    seen.add(s.subject);
    groups.push({ subject: s.subject, best, faces: s.faces || [best.face_id] });
  }
  for (const c of cands) { // subjects the server did not group (a search made without subjects)
    if (!c.subject || seen.has(c.subject)) continue;
    seen.add(c.subject);
    groups.push({ subject: c.subject, best: c, faces: cands.filter((x) => x.subject === c.subject).map((x) => x.face_id) });
  }
  const grouped = new Set(groups.flatMap((g) => g.faces));
  const unnamed = cands.filter((c) => !grouped.has(c.face_id));
  const out = h('div', { id: 'cands-by-subject' });
  for (const g of groups) {
    const shown = [g.best, ...g.faces.filter((f) => f !== g.best.face_id).map((f) => byFace.get(f)).filter(Boolean)
      .sort((a, b) => a.rank - b.rank)];
    const notShown = g.faces.filter((f) => !byFace.has(f));
    out.append(h('section', { class: 'subject-group', 'data-subject': g.subject, 'aria-label': `Subject ${g.subject}` },
      h('h4', {}, g.subject, ' ', statusBadge(g.best)),
      h('p', { class: 'help' }, `Best face #${g.best.face_id}: score ${fmtScore(g.best.score)}, FPIR ${fmtRate(g.best.fpir)}. `,
        g.faces.length === 1 ? 'No other face of this subject was found.'
          : `${g.faces.length} faces of this subject were found${notShown.length ? ` (${notShown.map((f) => `#${f}`).join(', ')} not among the candidates shown)` : ''}.`),
      h('ul', { class: 'cand-grid', 'aria-label': `Faces of ${g.subject}` }, shown.map((cd) => candidateCard(ctx, cd)))));
  }
  if (unnamed.length) {
    out.append(h('section', { class: 'subject-group unnamed', 'aria-label': 'Faces without a named subject' },
      h('h4', {}, 'Faces without a named subject'),
      h('ul', { class: 'cand-grid' }, unnamed.map((cd) => candidateCard(ctx, cd)))));
  }
  return out;
}

function candidateCard(ctx, cd) {
  const { r } = ctx;
  const src = cd.source || {};
  const img = cd.image || {};
  const status = candidateStatus(cd);
  const reasons = cd.quality_reasons && cd.quality_reasons.length ? cd.quality_reasons.join(', ') : 'no problems found';
  const select = () => {
    ctx.selected = cd.face_id;
    for (const el of document.querySelectorAll('.cand')) {
      const on = Number(el.getAttribute('data-face')) === cd.face_id;
      el.classList.toggle('selected', on);
      const b = el.querySelector('.compare-btn');
      if (b) b.setAttribute('aria-pressed', String(on));
    }
    ctx.refreshCompare();
    const box = document.getElementById('compare');
    if (box) box.scrollIntoView({ block: 'nearest' });
  };
  const compareBtn = h('button', { type: 'button', class: 'btn small compare-btn', 'aria-pressed': String(ctx.selected === cd.face_id) },
    'Side by side');
  compareBtn.addEventListener('click', select);
  const article = h('article', { 'aria-label': `Rank ${cd.rank}, gallery face #${cd.face_id}` },
    h('div', { class: 'cand-body' },
      h('div', { class: 'cand-head' },
        h('img', { class: 'thumb', src: cd.thumbnail, alt: `Gallery face #${cd.face_id}` }),
        h('div', { class: 'cand-main' },
          h('p', { class: 'rank-line' }, h('span', { class: 'rank-no', title: `Rank ${cd.rank}` }, `#${cd.rank}`), ' ', statusBadge(cd)),
          h('p', { class: 'score' }, 'Score ', h('strong', {}, fmtScore(cd.score))),
          h('p', { class: 'fpir' }, h('abbr', { title: 'The share of searches for someone not in the gallery that return a candidate scoring this much' }, 'FPIR'),
            ' ', h('strong', { class: 'fpir-value nowrap' }, fmtRate(cd.fpir))),
          h('p', { class: 'subject' }, 'Subject ', h('strong', {}, cd.subject || 'unnamed')))),
      cd.withheld ? h('p', { class: 'withheld-reason' }, h('strong', {}, 'Not a lead: '), cd.withheld) : null,
      h('p', { class: 'quality' }, `Quality ${fmtScore(cd.quality)} — ${reasons}`),
      h('details', { class: 'provenance', ontoggle: (ev) => { if (ev.target.open) fitPaths(ev.target); } },
        h('summary', {}, `Provenance: ${src.name || 'not recorded'}`),
        dl([
          ['Image', fitPath(pathEl(img.uri, 32))],
          img.sha256 ? ['SHA-256', h('code', { class: 'hash', title: img.sha256 }, `${img.sha256.slice(0, 12)}…`)] : null,
          img.captured_at ? ['Captured', h('span', { class: 'nowrap' }, img.captured_at.replace('T', ' '))] : null,
          img.width ? ['Size', `${img.width}×${img.height}`] : null,
          ['Source', src.name || '—'],
          ['Legal basis', src.legal_basis || '—'],
          ['Face', `#${cd.face_id}`],
        ])),
      h('div', { class: 'actions' }, compareBtn)),
    reviewBox(ctx, cd));
  article.addEventListener('click', (ev) => {
    if (ev.target.closest('button, a, input, textarea, select, summary, details, label')) return;
    select();
  });
  return h('li', { class: `cand is-${status}${ctx.selected === cd.face_id ? ' selected' : ''}`, 'data-face': cd.face_id, 'data-rank': cd.rank },
    article);
}

// A card's reviews: the other analysts' verdicts (with Confirm), and this analyst's own
// verdict as a set of toggle buttons whose chosen one is marked with a tick and named.
function reviewBox(ctx, cd) {
  const { r } = ctx;
  const fs = h('fieldset', { class: 'review' });
  const noteId = uid('note');
  const note = h('input', { type: 'text', id: noteId, name: 'note', maxlength: 2000, placeholder: 'What you saw' });
  const status = h('p', { class: 'review-status', 'aria-live': 'polite' });
  const others = h('ul', { class: 'review-list' });
  const mineLine = h('p', { class: 'my-verdict' });
  const buttons = Object.entries(VERDICTS).map(([verdict, text]) => {
    const b = h('button', { type: 'button', class: 'btn small verdict', 'data-verdict': verdict, 'aria-pressed': 'false' },
      h('span', { class: 'tick', 'aria-hidden': 'true' }, '✓ '), text);
    b.addEventListener('click', async () => {
      await busy(b, 'Saving…', async () => {
        let rev;
        try {
          rev = await api('POST', `/v1/searches/${r.search_id}/reviews`, { face_id: cd.face_id, verdict, note: note.value.trim() });
        } catch (err) {
          status.className = 'review-status failed';
          status.textContent = `Not recorded: ${messageOf(err)}`;
          return;
        }
        ctx.reviews.put(rev);
        status.className = 'review-status done';
        status.textContent = verdict === 'possible_match'
          ? `Recorded as a possible match (review #${rev.id}). It counts only after a second analyst confirms it.`
          : `Recorded: ${text.toLowerCase()} (review #${rev.id}).`;
      });
      refresh(); // busy() restored the button's text: draw the chosen state again
    });
    return b;
  });
  const confirmButton = (rv) => {
    const b = h('button', { type: 'button', class: 'btn small primary' }, `Confirm review #${rv.id}`);
    b.addEventListener('click', async () => {
      await busy(b, 'Confirming…', async () => {
        const done = await api('POST', `/v1/reviews/${rv.id}/confirm`);
        ctx.reviews.put(done);
        flash(`Review #${rv.id} confirmed.`, 'ok');
      });
    });
    return b;
  };
  const refresh = () => {
    const mine = ctx.reviews.mine(cd.face_id);
    for (const b of buttons) {
      const on = !!mine && b.getAttribute('data-verdict') === mine.verdict;
      b.setAttribute('aria-pressed', String(on));
      b.classList.toggle('chosen', on);
    }
    if (mine) {
      mineLine.replaceChildren(h('strong', {}, 'Your verdict: '), VERDICTS[mine.verdict] || mine.verdict, ` (review #${mine.id})`,
        mine.verdict === 'possible_match' && !mine.confirmed ? ', not confirmed yet: it needs a second analyst.' : '',
        mine.confirmed ? `, confirmed by ${mine.confirmed_by}.` : '');
    } else {
      mineLine.textContent = ctx.canReview ? 'No verdict from you yet.' : '';
    }
    others.replaceChildren(...ctx.reviews.of(cd.face_id).filter((x) => !ctx.canReview || x.analyst !== state.user).map((x) => {
      let conf = null;
      if (x.verdict === 'possible_match') {
        if (x.confirmed) conf = h('span', {}, ' ', badge(`confirmed by ${x.confirmed_by}`, 'ok'));
        else if (ctx.canReview && x.analyst !== state.user) conf = h('span', {}, ' ', confirmButton(x));
        else conf = h('span', {}, ' ', badge('needs a second analyst', 'warn'));
      }
      return h('li', { 'data-review': x.id }, h('strong', {}, verdictText(x)), ` — ${x.analyst}, `, timeEl(x.at),
        x.note ? h('span', { class: 'muted' }, ` “${x.note}”`) : null, conf);
    }));
    others.hidden = !others.children.length;
  };
  ctx.reviews.listen(cd.face_id, refresh);
  if (ctx.canReview) {
    fs.append(h('legend', {}, 'Your review'), others, mineLine,
      h('label', { for: noteId, class: 'small-label' }, 'Note'), note,
      h('div', { class: 'verdicts', role: 'group', 'aria-label': `Verdict on face #${cd.face_id}` }, buttons), status);
  } else {
    fs.append(h('legend', {}, 'Reviews'), others, h('p', { class: 'muted empty-reviews' }, 'Only analysts of the case review candidates.'));
  }
  refresh();
  return fs;
}

// ------------------------------------------------------------------ persons

// Looking at persons is looking at the gallery's faces grouped by who they are: like a
// search, it happens inside an open case with a justification, and every view is in the
// audit log (person_investigations.h). The justification for viewing is asked once per
// case and kept for this browser tab; each change asks for its own.
const PERSONS_NOTICE = 'Persons are groupings made by a machine for human review, not identifications. ' +
  'Check the faces before relying on a person, the doubtful ones (small margin) first.';

function personsWhyKey(caseId) {
  return `lineup.persons.why.${caseId}`;
}

// The viewing justification for a case, or a form asking for it (which calls `then`).
function personsWhy(view, caseId, then) {
  const why = sessionStorage.getItem(personsWhyKey(caseId));
  if (why) return why;
  const input = field('Why are you looking at the persons of this case?',
    { name: 'why', required: true, maxlength: 2000, id: 'persons-why' }, {
      kind: 'textarea',
      help: 'Kept in the audit log with every list and person you open here (for this tab).',
    });
  const button = h('button', { type: 'submit', class: 'btn primary', id: 'persons-why-go' }, 'Show persons');
  const form = h('form', { class: 'card inline-form', novalidate: true, id: 'persons-why-form' },
    h('h2', {}, 'Justification'), input, h('div', { class: 'actions' }, button));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = requiredText(form, 'why', 'A justification is required to view persons.');
    if (!v) return;
    sessionStorage.setItem(personsWhyKey(caseId), v);
    then();
  });
  view.append(form);
  return null;
}

// The case and justification of a read of persons or the network travel in request
// headers, never in the URL (which proxies, server logs and browser history keep); the
// justification percent-encoded, so that any text fits a header line.
function inCase(caseId, why) {
  const encoded = encodeURIComponent(why);
  if (encoded.length > 7000) throw new Error('The justification is too long to send: shorten it.');
  return { 'X-Lineup-Case': String(caseId), 'X-Lineup-Justification': encoded };
}

function marginBadge(p) {
  if (p.faces <= 1) return badge('one face', 'muted');
  // Faces placed by enrolment since the last rebuild leave the margin unmeasured.
  if (!p.nearest_person) return h('span', { title: 'No other person measured near it yet: rebuilding persons measures it' },
    badge('not measured', 'muted'));
  if (p.margin < 0.05) return badge(`doubtful ${fmtScore(p.margin)}`, 'warn');
  return badge(fmtScore(p.margin), 'ok');
}

function personName(p) {
  return p.name ? p.name : h('span', { class: 'muted' }, 'unnamed');
}

// One justification field for the changes made on a page, checked before each.
function changeForm(idPrefix) {
  const why = field('Justification for changes', { name: 'change_why', maxlength: 2000, id: `${idPrefix}-why`, required: true },
    { kind: 'textarea', help: 'Every change (name, merge, split, mark, undo) is recorded with it in the audit log, and can be undone.' });
  const form = h('form', { class: 'card', novalidate: true, id: `${idPrefix}-form` }, h('h2', {}, 'Change the grouping'), why);
  form.addEventListener('submit', (ev) => ev.preventDefault());
  const justification = () => {
    const v = form.elements.change_why.value.trim();
    if (!v) throw new Error('Write why you make this change first (Justification for changes).');
    return v;
  };
  return { form, justification };
}

async function pagePersons(view, caseId) {
  const c = await api('GET', `/v1/cases/${caseId}`);
  view.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/cases' }, 'Cases'), ' › ',
      h('a', { href: `#/cases/${c.id}` }, `Case #${c.id}`), ' › ', 'Persons'),
    h('h1', {}, 'Persons'),
    h('p', { class: 'lead' }, 'Faces of the gallery grouped into persons, the most doubtful first: ',
      'the weakest link holding a person together, the nearest face of another person, and their difference, the margin.'),
    h('div', { class: 'notice', role: 'note' }, PERSONS_NOTICE));
  const why = personsWhy(view, c.id, () => render());
  if (!why) return;
  const done = loading(view);
  const list = await api('GET', '/v1/persons?limit=200', undefined, inCase(c.id, why));
  done();
  view.append(h('p', { class: 'summary', id: 'persons-summary' },
    `${fmtCount(list.total)} persons, ${fmtCount(list.pending)} faces waiting for a person. `,
    h('span', { class: 'muted' }, `Your justification: “${why}” `),
    h('button', { type: 'button', class: 'btn small', onclick: () => { sessionStorage.removeItem(personsWhyKey(c.id)); render(); } },
      'Change justification')));
  const rows = list.persons.map((p) => [
    h('a', { href: `#/cases/${c.id}/persons/${p.id}`, class: 'nowrap' }, `Person #${p.id}`),
    personName(p),
    h('span', { class: 'num' }, p.faces),
    h('span', { class: 'num' }, p.photos),
    h('span', { class: 'num' }, fmtScore(p.weakest_link)),
    p.nearest_person ? h('span', {}, h('span', { class: 'num' }, fmtScore(p.nearest_other)), ' (',
      h('a', { href: `#/cases/${c.id}/persons/${p.nearest_person}` }, `#${p.nearest_person}`), ')') : '—',
    marginBadge(p),
    p.first_seen ? timeEl(p.first_seen) : '—',
    p.last_seen ? timeEl(p.last_seen) : '—',
  ]);
  view.append(h('section', { 'aria-labelledby': 'persons-h' },
    h('h2', { id: 'persons-h' }, 'Most doubtful first'),
    table(['Person', 'Name', 'Faces', 'Photos', 'Weakest link', 'Nearest other', 'Margin', 'First seen', 'Last seen'], rows,
      { empty: 'No persons yet: enrol photos, or ask an administrator to rebuild persons.', id: 'persons-table' })));
  if (list.total > list.persons.length) {
    view.append(h('p', { class: 'muted' }, `The ${list.persons.length} most doubtful of ${fmtCount(list.total)} are shown.`));
  }

  // The faces no person holds yet, and the rebuild that places them.
  const pending = await api('GET', `/v1/persons/pending?limit=${PENDING_SHOWN}`, undefined, inCase(c.id, why));
  view.append(pendingSection(c, pending));

  // The analysts' changes, with Undo.
  const history = await api('GET', '/v1/persons/history?limit=50', undefined, inCase(c.id, why));
  const { form, justification } = changeForm('history');
  form.querySelector('h2').textContent = 'Undo a change';
  const historyRows = history.changes.map((e) => {
    let undo = '—';
    if (e.action !== 'undo' && !e.undone_by) {
      undo = h('button', { type: 'button', class: 'btn small', 'data-undo': e.id }, `Undo change #${e.id}`);
      undo.addEventListener('click', async () => {
        await busy(undo, 'Undoing…', async () => {
          await api('POST', `/v1/persons/history/${e.id}/undo`, { case_id: c.id, justification: justification() });
          flash(`Change #${e.id} taken back.`, 'ok', { keep: true });
          render();
        }, form);
      });
    } else if (e.undone_by) undo = `undone by #${e.undone_by}`;
    return [`#${e.id}`, timeEl(e.at), e.actor, h('span', { class: 'action' }, e.action), detailsView(e.details), undo];
  });
  form.append(table(['Change', 'When', 'By', 'Action', 'Details', ''], historyRows,
    { empty: 'No analyst has changed the grouping yet.', id: 'persons-history' }));
  view.append(form);
}

// Why a face waits, in a line: how many close neighbours it has and how many of them (and
// what share of their similarity) point to one person, against the share joining needs.
const PENDING_REASONS = {
  'neighbours disagree': 'its close neighbours disagree',
  'same photo': 'that person has a face of the same photo',
  'marked not this person': 'an analyst marked it not to be that person',
  'no close neighbour': 'no close neighbour',
  'can join now': 'it can join now (the persons changed)',
};
function pendingVote(c, v) {
  const pct = (x) => `${Math.round(100 * x)}%`;
  const leading = v.leading_person
    ? [`${v.leading_neighbours} in `, h('a', { href: `#/cases/${c.id}/persons/${v.leading_person}` }, `person #${v.leading_person}`),
      ` (${pct(v.leading_share)} of their similarity; ${pct(v.share_needed)} needed)`]
    : [];
  return h('span', { class: 'small-text pending-vote', 'data-reason': v.reason },
    `${v.close_neighbours} close neighbour${v.close_neighbours === 1 ? '' : 's'}`, leading.length ? ', ' : '', leading,
    ': ', h('strong', {}, PENDING_REASONS[v.reason] || v.reason));
}

// Faces shown at most on the Persons page; the total is always said.
const PENDING_SHOWN = 60;
// Who may rebuild persons (POST /v1/persons/recluster): analysts in an open case of
// theirs, admins (who hold no cases) without one.
const RECLUSTER_ROLES = ['analyst', 'admin'];

// The faces waiting for a person, as crops with their photos, and (for the roles that
// may) the rebuild that places them.
function pendingSection(c, pending) {
  const faceCard = (f) => h('li', { class: 'person-face pending-face', 'data-face': f.face_id },
    h('img', { class: 'thumb', src: f.thumbnail, alt: `Face #${f.face_id}, waiting for a person` }),
    h('span', { class: 'face-line' }, `Face #${f.face_id}`),
    h('span', { class: 'small-text photo-name', title: f.image }, f.image.split(/[\\/]/).pop() || f.image),
    h('span', { class: 'muted small-text' }, 'source ', h('strong', { class: 'source' }, f.source), ', ',
      f.captured_at ? h('span', { class: 'nowrap' }, f.captured_at.replace('T', ' ')) : 'date unknown'),
    f.vote ? pendingVote(c, f.vote) : null);
  const section = h('section', { 'aria-labelledby': 'pending-h', id: 'pending-section' },
    h('h2', { id: 'pending-h' }, 'Faces waiting for a person'),
    h('p', { class: 'help' }, 'Enrolment could not place these faces: their nearest faces disagree about whom they belong to, ',
      'or the person they point to already has a face of the same photo (two faces of one photo are two people). ',
      'Rebuilding persons places every face.'));
  if (!pending.total) {
    section.append(h('p', { class: 'empty', id: 'pending-none' }, 'No face is waiting for a person.'));
  } else {
    section.append(
      h('p', { id: 'pending-count' }, pending.faces.length < pending.total
        ? `${fmtCount(pending.total)} faces wait; the first ${pending.faces.length} are shown.`
        : `${fmtCount(pending.total)} face(s) wait.`),
      h('ul', { class: 'face-grid', id: 'pending-faces' }, pending.faces.map(faceCard)));
  }
  if (RECLUSTER_ROLES.includes(state.role)) section.append(rebuildCard(c ? c.id : 0));
  return section;
}

function seconds(x) {
  return x < 0.1 ? 'under 0.1 s' : `${x.toFixed(1)} s`;
}

function rebuiltKey(caseId) {
  return `lineup.persons.rebuilt.${caseId}`;
}

// A rebuild's stages (Persons::Recluster), as the card names them, and what each counts.
const REBUILD_STAGES = {
  neighbours: ['Finding each face\'s nearest faces', 'faces'],
  clustering: ['Grouping the faces', 'steps'],
  constraints: ['Keeping apart the faces a rule separates', 'groups checked'],
  storing: ['Storing the persons', 'persons stored'],
};
const REBUILD_POLL_MS = 500;

// A running (or waiting) rebuild: its stage, a bar of that stage's counts, the seconds gone.
function rebuildProgress(job) {
  const [stageText, unit] = REBUILD_STAGES[job.stage] || ['Starting', ''];
  const running = job.state === 'running';
  const counted = running && job.total > 0;
  // Without a value the bar runs without saying how far (waiting, or a stage of one step).
  const bar = h('progress', { 'aria-label': 'Rebuilding persons', max: counted ? job.total : null, value: counted ? job.done : null });
  return h('div', { class: 'rebuild-running', id: 'rebuild-progress', 'data-state': job.state, 'data-stage': job.stage },
    h('p', { class: 'rebuild-stage' }, h('strong', { id: 'rebuild-stage' },
      running ? `${stageText}…` : 'Waiting for the gallery (an enrolment or a search holds it)…')),
    bar,
    h('p', { class: 'muted small-text' },
      counted ? h('span', { id: 'rebuild-counts' }, `${fmtCount(job.done)} of ${fmtCount(job.total)} ${unit}`) : null,
      counted ? ' · ' : null,
      h('span', { id: 'rebuild-elapsed' }, `${Math.round(job.elapsed_seconds)} s`), ` · rebuild job #${job.job}`));
}

// "Rebuild persons" with its own justification. The server runs the rebuild as a job
// (POST /v1/persons/recluster answers 202 at once; one at a time) and the card follows it
// (GET /v1/persons/recluster/{id}): the running stage with its counts and the seconds
// gone, then the page is drawn anew with the rebuilt persons and the card keeps the
// result for this tab. A rebuild this tab started is followed again after a reload.
function rebuildCard(caseId) {
  const why = field('Why rebuild now?', { name: 'rebuild_why', id: 'rebuild-why', maxlength: 2000, required: true },
    { kind: 'textarea', help: 'Recorded in the audit log when the rebuild starts, and again with its counts when it ends. Names and analysts\' marks are kept.' });
  const go_ = h('button', { type: 'submit', class: 'btn', id: 'rebuild-go' }, 'Rebuild persons');
  const status = h('div', { id: 'rebuild-status', 'aria-live': 'polite' });
  const form = h('form', { class: 'card', novalidate: true, id: 'rebuild-form' },
    h('h3', {}, 'Rebuild persons'),
    h('p', { class: 'help' }, 'Groups every face of the gallery again, places the waiting faces and measures every person\'s margin. ',
      'It runs on the server (minutes for a large gallery) while other requests wait; you may leave this page meanwhile.'),
    why, h('div', { class: 'actions' }, go_), status);
  const remembered = () => {
    try {
      return JSON.parse(sessionStorage.getItem(rebuiltKey(caseId)) || 'null');
    } catch {
      return null;
    }
  };
  const remember = (v) => {
    try {
      sessionStorage.setItem(rebuiltKey(caseId), JSON.stringify(v));
    } catch {
      /* storage may be disabled: the flash says what happened */
    }
  };
  const result = (r, at) => h('div', { class: 'rebuild-result', id: 'rebuild-result' },
    h('p', {}, h('strong', {}, 'Last rebuild from this tab'), ' (', timeEl(at), '):'),
    dl([
      ['Faces', fmtCount(r.faces)],
      ['Persons', `${fmtCount(r.persons)} (${fmtCount(r.singletons)} of one face)`],
      ['Waiting for a person', fmtCount(r.pending)],
      ['Links between faces', fmtCount(r.links)],
      ['Faces kept apart by a rule', fmtCount(r.kept_apart)],
      ['Time', `${seconds(r.seconds_knn + r.seconds_cluster)} (neighbours ${seconds(r.seconds_knn)}, grouping ${seconds(r.seconds_cluster)})`],
    ]));
  // Follows job `id` until it ends (or the page is left): then the result, or why it failed.
  const follow = (id, first) => busy(go_, 'Rebuilding…', async () => {
    let job = first;
    for (;;) {
      if (!job) {
        try {
          job = await api('GET', `/v1/persons/recluster/${id}`);
        } catch (err) {
          if (err.status === 404) remember(null);  // the server was restarted since: nothing to follow
          throw err;
        }
      }
      if (!status.isConnected) return;  // another page now; a reload of this one follows it again
      if (job.state === 'done' || job.state === 'failed') break;
      status.replaceChildren(rebuildProgress(job));
      await new Promise((res) => setTimeout(res, REBUILD_POLL_MS));
      job = null;
    }
    if (job.state === 'failed') {
      remember(null);
      status.replaceChildren();
      throw new Error(`The rebuild failed: ${job.error}`);
    }
    const at = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    remember({ at, report: job.result, job: job.job });
    const r = job.result;
    flash(`Persons rebuilt in ${seconds(job.elapsed_seconds)}: ${fmtCount(r.persons)} persons from ${fmtCount(r.faces)} faces, ${fmtCount(r.pending)} waiting.`, 'ok', { keep: true });
    render();
  }, form);
  const last = remembered();
  if (last && last.report) status.append(result(last.report, last.at));
  else if (last && last.running) follow(last.running);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = requiredText(form, 'rebuild_why', 'Write why you rebuild persons first.');
    if (!text) return;
    busy(go_, 'Starting…', async () => {
      const body = { justification: text };
      if (caseId) body.case_id = caseId;
      const job = await api('POST', '/v1/persons/recluster', body);
      remember({ running: job.job });
      status.replaceChildren(rebuildProgress(job));
      return job;
    }, form).then((job) => { if (job) follow(job.job, job); });
  });
  return form;
}

async function pagePerson(view, caseId, personId) {
  const c = await api('GET', `/v1/cases/${caseId}`);
  view.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/cases' }, 'Cases'), ' › ',
      h('a', { href: `#/cases/${c.id}` }, `Case #${c.id}`), ' › ', h('a', { href: `#/cases/${c.id}/persons` }, 'Persons'), ' › ',
      `Person #${personId}`));
  const why = personsWhy(view, c.id, () => render());
  if (!why) {
    view.prepend(h('h1', {}, `Person #${personId}`));
    return;
  }
  const done = loading(view);
  const p = await api('GET', `/v1/persons/${personId}`, undefined, inCase(c.id, why));
  done();
  view.append(
    h('h1', {}, `Person #${p.id}`, p.name ? `: ${p.name}` : '', ' ', marginBadge(p)),
    dl([
      ['Name', personName(p)],
      ['Faces', `${p.faces} in ${p.photos} photo(s)`],
      ['Weakest link', fmtScore(p.weakest_link)],
      ['Nearest other', p.nearest_person ? h('span', {}, `${fmtScore(p.nearest_other)} (`,
        h('a', { href: `#/cases/${c.id}/persons/${p.nearest_person}` }, `person #${p.nearest_person}`), ')') : '—'],
      ['Margin', h('span', { id: 'person-margin' }, p.faces > 1 && !p.nearest_person ? 'not measured yet (placed by enrolment since the last rebuild)' : fmtScore(p.margin))],
      ['Seen', p.first_seen ? h('span', {}, timeEl(p.first_seen), ' – ', timeEl(p.last_seen)) : 'no capture dates'],
    ]),
    h('div', { class: 'notice', role: 'note' }, p.notice || PERSONS_NOTICE));

  // Faces as thumbnails, each with a checkbox for split and mark.
  const chosen = new Set();
  const faceCard = (f) => {
    const box = h('input', { type: 'checkbox', id: `face-${f.face_id}`, 'data-face': f.face_id });
    box.addEventListener('change', () => { if (box.checked) chosen.add(f.face_id); else chosen.delete(f.face_id); });
    return h('li', { class: 'person-face', 'data-face': f.face_id },
      h('label', { for: `face-${f.face_id}` },
        h('img', { class: 'thumb', src: f.thumbnail, alt: `Face #${f.face_id}` }),
        h('span', { class: 'face-line' }, box, ` Face #${f.face_id}`)),
      h('span', { class: 'muted small-text' }, `quality ${fmtScore(f.quality)}, ${f.placed_by}`));
  };
  view.append(h('section', { 'aria-labelledby': 'faces-h' },
    h('h2', { id: 'faces-h' }, 'Faces'),
    h('p', { class: 'help' }, 'Tick faces to move them out (split) or to mark them as not this person.'),
    h('ul', { class: 'face-grid', id: 'person-faces' }, p.face_list.map(faceCard))));

  // Timeline: the faces by capture date.
  const byDate = new Map();
  for (const f of p.face_list) {
    const day = f.captured_at ? f.captured_at.slice(0, 10) : '';
    if (!byDate.has(day)) byDate.set(day, []);
    byDate.get(day).push(f);
  }
  const days = [...byDate.keys()].sort((a, b) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b)));
  view.append(h('section', { 'aria-labelledby': 'timeline-h' },
    h('h2', { id: 'timeline-h' }, 'Timeline'),
    h('ol', { class: 'timeline', id: 'person-timeline' }, days.map((d) => h('li', {},
      h('strong', { class: 'nowrap' }, d || 'Date unknown'), ' ',
      byDate.get(d).map((f) => h('img', { class: 'thumb-small', src: f.thumbnail, alt: `Face #${f.face_id}` })),
      ` ${byDate.get(d).length} face(s)`)))));

  // Photos: where each face comes from.
  const photoRows = p.face_list.map((f) => [
    `#${f.face_id}`,
    pathEl(f.image, 40),
    f.source,
    f.captured_at ? h('span', { class: 'nowrap' }, f.captured_at.replace('T', ' ')) : '—',
    h('code', {}, f.box.join(', ')),
    fmtScore(f.quality),
    f.placed_by,
  ]);
  view.append(h('section', { 'aria-labelledby': 'photos-h' },
    h('h2', { id: 'photos-h' }, 'Photos'),
    table(['Face', 'Photo', 'Source', 'Captured', 'Box (x, y, w, h)', 'Quality', 'Placed by'], photoRows, { id: 'person-photos' })));
  const network = personNetwork(view, c, p, why);

  // Changes, each with the justification written in the form.
  const { form, justification } = changeForm('person');
  const after = (text) => {
    flash(text, 'ok', { keep: true });
    render();
  };
  const nameInput = h('input', { type: 'text', name: 'name', id: 'person-name', maxlength: 200, value: p.name || '', placeholder: 'Full name' });
  const nameBtn = h('button', { type: 'button', class: 'btn primary', id: 'person-name-go' }, 'Name this person');
  nameBtn.addEventListener('click', () => busy(nameBtn, 'Naming…', async () => {
    const name = nameInput.value.trim();
    if (!name) throw new Error('Write the name first.');
    await api('POST', `/v1/persons/${p.id}/name`, { case_id: c.id, justification: justification(), name });
    after(`Person #${p.id} is now “${name}”.`);
  }, form));
  const otherInput = h('input', { type: 'number', name: 'other', id: 'person-merge-other', min: 1, step: 1, placeholder: 'Person number' });
  const mergeBtn = h('button', { type: 'button', class: 'btn', id: 'person-merge-go' }, 'Merge into this person');
  mergeBtn.addEventListener('click', () => busy(mergeBtn, 'Merging…', async () => {
    const other = Number(otherInput.value);
    if (!Number.isInteger(other) || other <= 0) throw new Error('Give the number of the person to merge in.');
    await api('POST', `/v1/persons/${p.id}/merge`, { case_id: c.id, justification: justification(), other });
    after(`Person #${other} merged into person #${p.id}.`);
  }, form));
  const splitBtn = h('button', { type: 'button', class: 'btn', id: 'person-split-go' }, 'Move ticked faces to a new person');
  splitBtn.addEventListener('click', () => busy(splitBtn, 'Moving…', async () => {
    if (!chosen.size) throw new Error('Tick the faces to move out first.');
    const r = await api('POST', `/v1/persons/${p.id}/split`, { case_id: c.id, justification: justification(), faces: [...chosen] });
    after(`${chosen.size} face(s) moved to person #${r.event.details.new_person}.`);
  }, form));
  const markBtn = h('button', { type: 'button', class: 'btn danger', id: 'person-mark-go' }, 'Not this person');
  markBtn.addEventListener('click', () => busy(markBtn, 'Marking…', async () => {
    if (!chosen.size) throw new Error('Tick the faces that are not this person first.');
    const j = justification();
    for (const face of chosen) await api('POST', `/v1/persons/${p.id}/mark`, { case_id: c.id, justification: j, face });
    after(`${chosen.size} face(s) marked as not person #${p.id}; they stay out when persons are rebuilt.`);
  }, form));
  form.append(
    h('div', { class: 'grid-2' },
      h('div', {}, h('label', { for: 'person-name', class: 'small-label' }, 'Name'), nameInput, h('div', { class: 'actions' }, nameBtn)),
      h('div', {}, h('label', { for: 'person-merge-other', class: 'small-label' }, 'Merge another person into this one'), otherInput,
        h('div', { class: 'actions' }, mergeBtn))),
    h('p', { class: 'help' }, 'For the ticked faces above:'),
    h('div', { class: 'actions' }, splitBtn, markBtn),
    h('p', { class: 'help' }, 'A change can be taken back from the ', h('a', { href: `#/cases/${c.id}/persons` }, 'Persons'), ' page.'));
  view.append(form);
  await network;
}

// ------------------------------------------------------------------ the co-appearance network
//
// Who appears with whom (network_investigations.h): persons tied by the photos they share.
// Each query is an accountable read in the case with the same justification as persons,
// recorded with what it returned; only photos of sources that allow "network" count, and
// every answer says how many faces were left out.
const NETWORK_NOTICE = 'Co-appearances are leads for review, not findings: two faces in one photo do not show ' +
  'that two people know each other.';

function networkReport(r) {
  const out = h('p', { class: 'muted network-report' },
    `Network of ${fmtCount(r.persons)} persons and ${fmtCount(r.ties)} links, from ${fmtCount(r.faces)} faces in ${fmtCount(r.photos)} photos. `);
  if (r.faces_left_out_purpose > 0) {
    out.append(h('strong', { class: 'left-out' },
      `${fmtCount(r.faces_left_out_purpose)} faces (${fmtCount(r.photos_left_out_purpose)} photos) left out: their source does not allow network analysis.`));
  } else out.append('No face was left out for its source\'s purposes.');
  if (r.faces_unplaced > 0) out.append(` ${fmtCount(r.faces_unplaced)} faces belong to no person yet.`);
  if (r.faces_opted_out > 0) out.append(` ${fmtCount(r.faces_opted_out)} faces opted out.`);
  return out;
}

function peopleOf(answer) {
  return new Map((answer.people || []).map((x) => [x.id, x]));
}

function personChip(caseId, people, id, { big = false } = {}) {
  const x = people.get(id);
  const label = x ? x.label : `person ${id}`;
  return h('a', { class: `person-chip${big ? ' big' : ''}`, href: `#/cases/${caseId}/persons/${id}`, 'data-person': id },
    x && x.thumbnail ? h('img', { class: 'thumb-small', src: x.thumbnail, alt: '' }) : null,
    h('span', {}, label));
}

// The photos behind one link: both faces, the photo's path, source and date.
function sharedPhotosList(photos, nameA, nameB) {
  return h('ul', { class: 'shared-photos' }, photos.map((ph) => h('li', { 'data-image': ph.image_id },
    h('span', { class: 'pair' },
      ph.thumbnail_a ? h('img', { class: 'thumb-small', src: ph.thumbnail_a, alt: `${nameA} in this photo` }) : null,
      ph.thumbnail_b ? h('img', { class: 'thumb-small', src: ph.thumbnail_b, alt: `${nameB} in this photo` }) : null),
    h('span', { class: 'photo-facts' },
      pathEl(ph.uri, 48),
      h('span', {}, 'source ', h('strong', { class: 'source' }, ph.source), ', ',
        ph.captured_at ? h('span', { class: 'nowrap' }, ph.captured_at.replace('T', ' ')) : 'date unknown',
        `, ${ph.persons_in_photo} persons in the photo`)))));
}

const SVG_NS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// A force-directed layout (Fruchterman and Reingold's, 1991), deterministic: the centre
// person is pinned in the middle, the others start on a circle in the server's order
// (strongest ties first) and settle; stronger links pull harder.
function layoutNetwork(nodes, edges, width, height, margin) {
  const n = nodes.length;
  const at = new Map(nodes.map((x, i) => [x.person, i]));
  const pos = nodes.map((_, i) => (i === 0 ? { x: width / 2, y: height / 2 }
    : { x: width / 2 + (width / 3) * Math.cos((2 * Math.PI * i) / Math.max(1, n - 1)),
        y: height / 2 + (height / 3) * Math.sin((2 * Math.PI * i) / Math.max(1, n - 1)) }));
  const k = 0.75 * Math.sqrt((width * height) / Math.max(1, n));
  let temperature = width / 6;
  for (let iter = 0; iter < 300; ++iter) {
    const disp = pos.map(() => ({ x: 0, y: 0 }));
    for (let i = 0; i < n; ++i) {
      for (let j = i + 1; j < n; ++j) {
        const dx = pos[i].x - pos[j].x, dy = pos[i].y - pos[j].y;
        const d = Math.max(0.01, Math.hypot(dx, dy));
        const f = (k * k) / d;
        disp[i].x += (dx / d) * f; disp[i].y += (dy / d) * f;
        disp[j].x -= (dx / d) * f; disp[j].y -= (dy / d) * f;
      }
    }
    for (const e of edges) {
      const a = at.get(e.a), b = at.get(e.b);
      if (a === undefined || b === undefined) continue;
      const dx = pos[a].x - pos[b].x, dy = pos[a].y - pos[b].y;
      const d = Math.max(0.01, Math.hypot(dx, dy));
      const f = ((d * d) / k) * (1 + Math.log2(e.weight));
      disp[a].x -= (dx / d) * f; disp[a].y -= (dy / d) * f;
      disp[b].x += (dx / d) * f; disp[b].y += (dy / d) * f;
    }
    for (let i = 1; i < n; ++i) {
      const d = Math.max(0.01, Math.hypot(disp[i].x, disp[i].y));
      const step = Math.min(d, temperature);
      pos[i].x = Math.min(width - margin, Math.max(margin, pos[i].x + (disp[i].x / d) * step));
      pos[i].y = Math.min(height - margin, Math.max(margin, pos[i].y + (disp[i].y / d) * step));
    }
    temperature = Math.max(1, temperature * 0.97);
  }
  return pos;
}

// The neighbourhood drawn: face thumbnails as nodes, links as wide as their shared
// photos are many; a click (or Enter) on a link lists its photos in `details`, a click
// on a face opens that person.
function neighbourhoodDrawing(caseId, hood, details) {
  const width = 720, height = 440, r = 24;
  const pos = layoutNetwork(hood.nodes, hood.edges, width, height, r + 18);
  const at = new Map(hood.nodes.map((x, i) => [x.person, i]));
  const label = new Map(hood.nodes.map((x) => [x.person, x.label]));
  const maxWeight = Math.max(1, ...hood.edges.map((e) => e.weight));
  const root = svg('svg', { class: 'network-drawing', id: 'network-drawing', viewBox: `0 0 ${width} ${height}`, role: 'group',
    'aria-label': `Co-appearances around ${label.get(hood.centre)}: ${hood.nodes.length} persons, ${hood.edges.length} links` });
  const defs = svg('defs');
  root.append(defs);
  const show = (e, line) => {
    for (const el of root.querySelectorAll('.net-edge.chosen')) el.classList.remove('chosen');
    line.classList.add('chosen');
    details.replaceChildren(
      h('h3', { id: 'link-photos-h' }, `${label.get(e.a)} and ${label.get(e.b)}: ${e.weight} shared photo(s)`),
      sharedPhotosList(e.photos, label.get(e.a), label.get(e.b)));
    details.hidden = false;
  };
  for (const e of hood.edges) {
    const a = pos[at.get(e.a)], b = pos[at.get(e.b)];
    const w = 1.5 + (8 * (e.weight - 1)) / Math.max(1, maxWeight - 1) + Math.min(4, e.weight - 1);
    const line = svg('line', { class: 'net-edge', x1: a.x, y1: a.y, x2: b.x, y2: b.y, 'stroke-width': w.toFixed(1) });
    const hit = svg('line', { class: 'net-edge-hit', x1: a.x, y1: a.y, x2: b.x, y2: b.y, 'stroke-width': Math.max(14, w + 8),
      tabindex: 0, role: 'button', 'data-a': e.a, 'data-b': e.b,
      'aria-label': `${label.get(e.a)} and ${label.get(e.b)}: ${e.weight} shared photo(s); show them` },
    svg('title', {}, `${label.get(e.a)} – ${label.get(e.b)}: ${e.weight} shared photo(s)`));
    hit.addEventListener('click', () => show(e, line));
    hit.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); show(e, line); } });
    root.append(line, hit);
  }
  hood.nodes.forEach((x, i) => {
    const clip = `clip-${x.person}-${idCounter++}`;
    defs.append(svg('clipPath', { id: clip }, svg('circle', { cx: 0, cy: 0, r })));
    const g = svg('g', { class: `net-node${i === 0 ? ' centre' : ''}`, transform: `translate(${pos[i].x.toFixed(1)},${pos[i].y.toFixed(1)})`,
      tabindex: 0, role: 'link', 'data-person': x.person, 'aria-label': `${x.label}: ${x.photos} photo(s); open` },
    svg('title', {}, `${x.label} (${x.photos} photos)`),
    svg('circle', { class: 'net-node-bg', r: r + 2 }),
    x.thumbnail ? svg('image', { href: x.thumbnail, x: -r, y: -r, width: 2 * r, height: 2 * r,
      preserveAspectRatio: 'xMidYMid slice', 'clip-path': `url(#${clip})` }) : null,
    svg('circle', { class: 'net-node-ring', r }),
    svg('text', { class: 'net-label', y: r + 14, 'text-anchor': 'middle' }, x.label));
    const open = () => go(`#/cases/${caseId}/persons/${x.person}`);
    g.addEventListener('click', open);
    g.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') open(); });
    root.append(g);
  });
  return root;
}

// On a person's page: who the person appears with, and the drawing of their neighbourhood.
async function personNetwork(view, c, p, why) {
  const section = h('section', { 'aria-labelledby': 'assoc-h', id: 'person-network' },
    h('h2', { id: 'assoc-h' }, 'Appears with'),
    h('div', { class: 'notice', role: 'note' }, NETWORK_NOTICE));
  view.append(section);
  const done = loading(section);
  let a, n;
  try {
    const scope = inCase(c.id, why);
    [a, n] = await Promise.all([
      api('GET', `/v1/network/persons/${p.id}/associates?top=10`, undefined, scope),
      api('GET', `/v1/network/persons/${p.id}/neighbourhood?depth=1&max_nodes=30`, undefined, scope)]);
  } catch (err) {
    done();
    section.append(errorBox(err));
    return;
  }
  done();
  section.append(networkReport(a.report));
  if (!a.in_network) {
    section.append(h('p', { id: 'not-in-network' }, 'This person is not in the co-appearance network: none of its faces is in a photo ',
      'of a source that allows network analysis.'));
    return;
  }
  const people = peopleOf(a);
  const rows = a.associates.map((x, i) => [
    h('span', { class: 'num' }, i + 1),
    personChip(c.id, people, x.person),
    h('span', { class: 'num' }, x.shared_photos),
    h('span', { class: 'num', title: 'Shared photos weighted: a photo of many people counts less, and so does someone seen everywhere' },
      fmtScore(x.score)),
    sharedPhotosList(x.photos, p.name || `person ${p.id}`, people.get(x.person) ? people.get(x.person).label : `person ${x.person}`),
  ]);
  section.append(table(['#', 'Person', 'Shared photos', 'Score', 'The photos behind the link'], rows,
    { id: 'associates-table', empty: 'Nobody appears with this person in a photo.' }));
  if (n.edges.length) {
    const details = h('div', { class: 'card link-photos', id: 'link-photos', 'aria-live': 'polite', hidden: true });
    section.append(
      h('h3', {}, 'Neighbourhood'),
      h('p', { class: 'help' }, 'Faces are persons; a link is as wide as the photos they share are many. Click a link to see its photos, ',
        'a face to open that person.', n.truncated ? ' Only the strongest 30 are drawn.' : ''),
      h('div', { class: 'drawing-wrap' }, neighbourhoodDrawing(c.id, n, details)),
      details);
  }
  section.append(h('p', {}, h('a', { class: 'btn', href: `#/cases/${c.id}/network` }, 'The network of the case')));
}

// The network of a case: its communities and the persons who bridge them, a path between
// two persons, and an export for other tools.
async function pageNetwork(view, caseId) {
  const c = await api('GET', `/v1/cases/${caseId}`);
  view.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/cases' }, 'Cases'), ' › ',
      h('a', { href: `#/cases/${c.id}` }, `Case #${c.id}`), ' › ', 'Network'),
    h('h1', {}, 'Network'),
    h('p', { class: 'lead' }, 'Persons who appear in the same photos: the groups they form, and who bridges the groups.'),
    h('div', { class: 'notice', role: 'note' }, NETWORK_NOTICE));
  const why = personsWhy(view, c.id, () => render());
  if (!why) return;
  const done = loading(view);
  const scope = inCase(c.id, why);
  const [cm, br] = await Promise.all([api('GET', '/v1/network/communities', undefined, scope),
    api('GET', '/v1/network/brokers?top=10', undefined, scope)]);
  done();
  view.append(networkReport(cm.report));
  const people = peopleOf(cm);
  const communityRows = cm.communities.map((g) => [
    h('span', { class: 'num' }, g.id + 1),
    h('span', { class: 'num' }, g.members.length),
    h('span', { class: 'num' }, g.internal_ties),
    h('span', { class: 'num' }, g.internal_photos),
    h('span', { class: 'chips' }, g.members.map((m) => personChip(c.id, people, m))),
  ]);
  view.append(h('section', { 'aria-labelledby': 'communities-h' },
    h('h2', { id: 'communities-h' }, 'Communities'),
    h('p', { class: 'help' }, `Found by ${cm.algorithm} (modularity ${fmtScore(cm.quality)}); ${fmtCount(cm.isolated)} persons appear with nobody.`),
    table(['Community', 'Persons', 'Links inside', 'Photos inside', 'Members'], communityRows,
      { id: 'communities-table', empty: 'No community: nobody appears with anyone in a photo that may be used.' })));
  const bpeople = peopleOf(br);
  // A score of 0 bridges nothing (no chain between others passes through the person, or
  // their associates all know each other): only those above it are brokers.
  const bridging = br.brokers.filter((b) => b.score > 0);
  const brokerRows = bridging.map((b, i) => [
    h('span', { class: 'num' }, i + 1),
    personChip(c.id, bpeople, b.person),
    h('span', { class: 'num' }, b.score.toFixed(1)),
    h('span', { class: 'num' }, b.betweenness.toFixed(1)),
    h('span', { class: 'num' }, `${Math.round(100 * b.closure)}%`),
    h('span', { class: 'num' }, b.communities),
    h('span', { class: 'num' }, b.ties),
  ]);
  view.append(h('section', { 'aria-labelledby': 'brokers-h' },
    h('h2', { id: 'brokers-h' }, 'Brokers'),
    h('p', { class: 'help' }, 'Persons who link people who do not otherwise appear together: ranked by betweenness (how many shortest chains between others pass through them; links weighted by shared photos) ',
      'times the share of their associates who do not appear with each other, with the communities they and their associates belong to.'),
    bridging.length
      ? table(['#', 'Person', 'Score', 'Betweenness', 'Associates who know each other', 'Communities touched', 'Linked to'], brokerRows, { id: 'brokers-table' })
      : h('p', { class: 'empty', id: 'brokers-none' }, 'No person links two groups: nobody in this network stands between people who do not otherwise appear together.')));

  // A path between two persons.
  const from = h('input', { type: 'number', min: 1, step: 1, id: 'path-from', name: 'from', placeholder: 'Person number' });
  const to = h('input', { type: 'number', min: 1, step: 1, id: 'path-to', name: 'to', placeholder: 'Person number' });
  const result = h('div', { id: 'path-result', 'aria-live': 'polite' });
  const go_ = h('button', { type: 'submit', class: 'btn primary', id: 'path-go' }, 'Find the path');
  const form = h('form', { class: 'card', novalidate: true, id: 'path-form' }, h('h2', {}, 'How are two persons connected?'),
    h('div', { class: 'grid-2' },
      h('div', {}, h('label', { for: 'path-from', class: 'small-label' }, 'From person'), from),
      h('div', {}, h('label', { for: 'path-to', class: 'small-label' }, 'To person'), to)),
    h('div', { class: 'actions' }, go_), result);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(go_, 'Finding…', async () => {
      const a = Number(from.value), b = Number(to.value);
      if (!Number.isInteger(a) || a <= 0 || !Number.isInteger(b) || b <= 0) throw new Error('Give two person numbers.');
      let p;
      try {
        p = await api('GET', `/v1/network/persons/${a}/path/${b}`, undefined, scope);
      } catch (err) {
        if (err.status === 404) {
          result.replaceChildren(h('p', { id: 'path-none' }, err.message));
          return;
        }
        throw err;
      }
      const pp = peopleOf(p);
      const lab = (id) => (pp.get(id) ? pp.get(id).label : `person ${id}`);
      result.replaceChildren(
        h('p', { class: 'chips' }, p.persons.map((id, i) => [i ? ' → ' : '', personChip(c.id, pp, id)])),
        h('ol', { class: 'path-links' }, p.links.map((l) => h('li', {},
          h('strong', {}, `${lab(l.from)} – ${lab(l.to)}: ${l.shared_photos} shared photo(s)`),
          sharedPhotosList(l.photos, lab(l.from), lab(l.to))))));
    }, form);
  });
  view.append(form);
  // Downloads are fetched (the case and justification go in headers, which a plain link
  // cannot send) and handed to the browser as a file.
  const exportButton = (format, file, label) => {
    const b = h('button', { type: 'button', class: 'btn', id: `export-${format}` }, label);
    b.addEventListener('click', () => busy(b, 'Exporting…', async () => {
      const text = await download(`/v1/network/export?format=${format}`, scope);
      const url = URL.createObjectURL(new Blob([text], { type: format === 'json' ? 'application/json' : 'application/graphml+xml' }));
      const a = h('a', { href: url, download: file, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      flash(`The network was exported as ${file} (recorded in the audit log).`, 'ok');
    }));
    return b;
  };
  view.append(h('section', { 'aria-labelledby': 'export-h' },
    h('h2', { id: 'export-h' }, 'Export'),
    h('p', { class: 'help' }, 'The whole network with every link\'s photos, for other link-analysis tools. The export is recorded in the audit log.'),
    h('div', { class: 'actions' },
      exportButton('graphml', 'network.graphml', 'Download GraphML'),
      exportButton('json', 'network.json', 'Download JSON'))));
}

// ------------------------------------------------------------------ audit

async function pageAudit(view) {
  view.append(h('h1', {}, 'Audit'),
    h('p', { class: 'lead' }, 'Every sign-in, search, review and administrative change is appended to a hash-chained log. ',
      'Verifying the chain shows whether any record was altered or removed.'));

  // Chain verification.
  const verifyBox = h('div', { class: 'card', id: 'verify-box', 'aria-live': 'polite' });
  const verify = async () => {
    verifyBox.replaceChildren(h('h2', {}, 'Integrity of the log'), h('p', { class: 'muted' }, 'Checking…'));
    try {
      const v = await api('GET', '/v1/audit/verify');
      verifyBox.replaceChildren(h('h2', {}, 'Integrity of the log'),
        h('p', { class: v.ok ? 'verdict-ok' : 'verdict-bad', id: 'verify-result' },
          v.ok ? `OK — the chain of ${v.records} records is intact.` : `BROKEN — ${v.problem || 'the chain does not verify'}`),
        dl([
          ['Records', String(v.records)],
          ['Head hash', h('code', { class: 'hash' }, v.head || '—')],
          !v.ok ? ['First bad record', String(v.first_bad_seq)] : null,
        ]),
        h('p', { class: 'help' }, 'Keep the head hash somewhere else: comparing it later shows whether the log was cut short.'),
        h('button', { type: 'button', class: 'btn small', onclick: verify }, 'Verify again'));
    } catch (err) {
      verifyBox.replaceChildren(h('h2', {}, 'Integrity of the log'), errorBox(err));
    }
  };

  // Statistics.
  const statsBox = h('div', { class: 'card', id: 'stats-box' }, h('h2', {}, 'Statistics'), h('p', { class: 'muted' }, 'Loading…'));
  const stats = async () => {
    try {
      const s = await api('GET', '/v1/stats');
      const rv = s.reviews || {};
      statsBox.replaceChildren(h('h2', {}, 'Statistics'),
        dl([
          ['Searches', String(s.searches)],
          ['Low-quality probes', fmtShare(s.low_quality_share)],
          ['Searches with a candidate above threshold', fmtShare(s.above_threshold_share)],
          ['Possible matches', `${rv.possible_match || 0}, of which ${rv.confirmed || 0} confirmed`],
          ['Not a match', String(rv.not_a_match || 0)],
          ['Inconclusive', String(rv.inconclusive || 0)],
        ]),
        h('div', { class: 'grid-2' },
          table(['User', 'Searches'], (s.searches_per_user || []).map((u) => [u.user, String(u.searches)]),
            { caption: 'Searches per user', empty: 'No searches yet.' }),
          table(['Case', 'Searches'], (s.searches_per_case || []).map((k) => [`#${k.case_id} ${k.title}`, String(k.searches)]),
            { caption: 'Searches per case', empty: 'No searches yet.' })));
    } catch (err) {
      statsBox.replaceChildren(h('h2', {}, 'Statistics'), errorBox(err));
    }
  };

  // Records with filters.
  const since = field('Since', { name: 'since', type: 'datetime-local', id: 'f-since' }, { help: 'Your local time.' });
  const caseF = field('Case', { name: 'case', type: 'number', min: 1, id: 'f-case' });
  const actor = field('Actor', { name: 'actor', id: 'f-actor', autocomplete: 'off' });
  const action = field('Action', { name: 'action', id: 'f-action', value: '' }, {
    kind: 'select',
    options: [['', 'any'], ...['login', 'login_failed', 'logout', 'case_create', 'case_member_add', 'case_close', 'search',
      'verify', 'detect', 'review', 'confirm', 'enroll', 'erase', 'optout', 'source_add', 'user_add', 'user_role',
      'user_disable', 'user_enable', 'user_grant', 'token_create', 'token_revoke', 'persons_list', 'persons_show',
      'persons_pending', 'persons_history', 'person_name', 'person_merge', 'person_split', 'person_mark', 'person_undo',
      'persons_recluster', 'persons_recluster_done', 'case_export', 'case_export_refused',
      'signing_key_create'].map((a) => [a, a])],
  });
  const limit = field('At most', { name: 'limit', type: 'number', min: 1, max: 10000, value: '200', id: 'f-limit' });
  const apply = h('button', { type: 'submit', class: 'btn primary' }, 'Show records');
  const form = h('form', { class: 'card filters', novalidate: true, 'aria-labelledby': 'records-h' },
    h('h2', { id: 'records-h' }, 'Records'), h('div', { class: 'grid-5' }, since, caseF, actor, action, limit),
    h('div', { class: 'actions' }, apply));
  const list = h('div', { id: 'audit-records' });
  const load = async () => {
    const q = new URLSearchParams();
    const el = form.elements;
    if (el.since.value) {
      const d = new Date(el.since.value);
      if (!Number.isNaN(d.getTime())) q.set('since', d.toISOString().replace(/\.\d{3}Z$/, 'Z'));
    }
    if (el.case.value) q.set('case', el.case.value);
    if (el.actor.value.trim()) q.set('actor', el.actor.value.trim());
    if (el.action.value) q.set('action', el.action.value);
    if (el.limit.value) q.set('limit', el.limit.value);
    const { records } = await api('GET', `/v1/audit?${q}`);
    records.reverse(); // newest first
    list.replaceChildren(
      h('p', { class: 'muted' }, `${records.length} record(s), newest first.`),
      table(['#', 'When', 'Actor', 'Action', 'Case', 'Details', 'Hash'], records.map((rec) => [
        String(rec.seq),
        timeEl(rec.at),
        h('span', { class: 'nowrap' }, rec.actor),
        h('span', { class: `action action-${rec.action}` }, rec.action),
        !rec.case_id ? '—' : state.role === 'admin' ? h('a', { href: `#/cases/${rec.case_id}` }, `#${rec.case_id}`) : `#${rec.case_id}`,
        detailsView(rec.details),
        h('code', { class: 'nowrap', title: rec.hash }, String(rec.hash).slice(0, 12)),
      ]), { empty: 'No records match these filters.' }));
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(apply, 'Loading…', load, form);
  });
  view.append(h('div', { class: 'grid-2' }, verifyBox, statsBox));
  if (state.role === 'auditor') view.append(evidenceExportForm(null));
  view.append(form, list);
  await Promise.all([verify(), stats(), busy(apply, 'Loading…', load, form)]);
}

function detailsView(d) {
  if (d === null || d === undefined) return '—';
  if (typeof d !== 'object') return String(d);
  const entries = Object.entries(d);
  if (!entries.length) return '—';
  return h('ul', { class: 'details' }, entries.map(([k, v]) => h('li', {}, h('span', { class: 'k' }, `${k}: `), detailValue(k, v))));
}

// One value of an audit record's details, readable: candidates as "#12: 0.612", times
// on one line, hashes shortened (whole in the tooltip), rates as "1%" or "1 in 1,000".
function detailValue(k, v) {
  if (k === 'candidates' && Array.isArray(v)) {
    if (!v.length) return 'none';
    const items = v.map((c) => (Array.isArray(c) ? { id: c[0], score: c[1] } : { id: c.face_id, score: c.score }));
    return h('span', { class: 'cand-list' }, items.map((c, i) => [
      h('span', { class: 'nowrap' }, `#${c.id}: ${fmtScore(c.score)}${i < items.length - 1 ? ',' : ''}`), ' ']));
  }
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v)) return timeEl(v);
  if (typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)) return h('code', { class: 'nowrap', title: v }, `${v.slice(0, 12)}…`);
  if (typeof v === 'number' && ['fmr', 'target_fpir', 'fpir'].includes(k)) return h('span', { title: String(v) }, fmtRate(v));
  if (typeof v === 'number' && k === 'threshold') return h('span', { title: String(v) }, v.toFixed(4));
  if (v === '') return '—';
  let text = typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (text.length > 160) text = `${text.slice(0, 157)}…`;
  return text;
}

// ------------------------------------------------------------------ admin: users and tokens

async function pageUsers(view) {
  view.append(h('h1', {}, 'Users & tokens'));
  const done = loading(view);
  const [{ users }, { tokens }, { sources }] = await Promise.all(
    [api('GET', '/v1/users'), api('GET', '/v1/tokens'), api('GET', '/v1/sources')]);
  done();
  const roleOptions = ALL.map((r) => [r, r]);

  // New user.
  const name = field('Name', { name: 'name', required: true, autocomplete: 'off', id: 'nu-name' },
    { help: 'Letters, digits and . _ @ - (up to 64).' });
  const role = field('Role', { name: 'role', value: 'analyst', id: 'nu-role' }, { kind: 'select', options: roleOptions });
  const password = field('Initial password', { name: 'password', type: 'password', required: true, autocomplete: 'new-password', id: 'nu-password' },
    { help: 'At least 12 characters.' });
  const addBtn = h('button', { type: 'submit', class: 'btn primary' }, 'Create user');
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'nu-h' },
    h('h2', { id: 'nu-h' }, 'Create a user'), h('div', { class: 'grid-3' }, name, role, password),
    h('p', { class: 'help' }, 'Admins manage users and sources; analysts open cases, search and review; ',
      'enrollers add photos to the sources granted to them; auditors read the audit log and statistics.'),
    h('div', { class: 'actions' }, addBtn));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const el = form.elements;
    await busy(addBtn, 'Creating…', async () => {
      const u = await api('POST', '/v1/users', { name: el.name.value.trim(), role: el.role.value, password: el.password.value });
      flash(`User ${u.name} (${u.role}) created.`, 'ok', { keep: true });
      render();
    }, form);
  });

  const userRows = users.map((u) => {
    const sel = h('select', { 'aria-label': `Role of ${u.name}` }, roleOptions.map(([v, t]) => h('option', { value: v }, t)));
    sel.value = u.role;
    sel.addEventListener('change', async () => {
      try {
        await api('POST', `/v1/users/${encodeURIComponent(u.name)}`, { role: sel.value });
        flash(`${u.name} is now ${sel.value}.`, 'ok');
      } catch (err) {
        sel.value = u.role;
        flash(messageOf(err), 'error');
      }
    });
    const toggle = h('button', { type: 'button', class: `btn small ${u.disabled ? '' : 'danger'}` }, u.disabled ? 'Enable' : 'Disable');
    toggle.addEventListener('click', async () => {
      if (!u.disabled && !window.confirm(`Disable ${u.name}? Their sessions and tokens stop working.`)) return;
      await busy(toggle, '…', async () => {
        await api('POST', `/v1/users/${encodeURIComponent(u.name)}`, { disabled: !u.disabled });
        flash(`${u.name} ${u.disabled ? 'enabled' : 'disabled'}.`, 'ok', { keep: true });
        render();
      });
    });
    let grants = (u.sources || []).join(', ') || '—';
    if (u.role === 'enroller') {
      const missing = sources.filter((s) => !(u.sources || []).includes(s.name));
      if (missing.length) {
        const pick = h('select', { 'aria-label': `Source to grant to ${u.name}` },
          missing.map((s) => h('option', { value: s.name }, s.name)));
        const grant = h('button', { type: 'button', class: 'btn small' }, 'Grant');
        grant.addEventListener('click', async () => {
          await busy(grant, '…', async () => {
            await api('POST', `/v1/users/${encodeURIComponent(u.name)}/grants`, { source: pick.value });
            flash(`${u.name} may now enrol into ${pick.value}.`, 'ok', { keep: true });
            render();
          });
        });
        grants = h('span', { class: 'stack' }, grants, h('span', {}, pick, ' ', grant));
      }
    }
    return [u.name, sel, u.disabled ? badge('disabled', 'warn') : badge('active', 'ok'), timeEl(u.created_at),
      grants, u.name === state.user ? h('span', { class: 'muted' }, 'you') : toggle];
  });

  // New token.
  const tUser = field('User', { name: 'user', value: users[0] ? users[0].name : '', id: 'nt-user' },
    { kind: 'select', options: users.filter((u) => !u.disabled).map((u) => [u.name, `${u.name} (${u.role})`]) });
  const tLabel = field('Label', { name: 'label', maxlength: 200, id: 'nt-label' }, { help: 'What the token is for, e.g. the machine that uses it.' });
  const tDays = field('Valid for (days)', { name: 'days', type: 'number', min: 1, max: 3650, value: '90', id: 'nt-days' });
  const tBtn = h('button', { type: 'submit', class: 'btn primary' }, 'Issue token');
  const secretBox = h('div', { 'aria-live': 'polite' });
  const tForm = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'nt-h' },
    h('h2', { id: 'nt-h' }, 'Issue an API token'), h('div', { class: 'grid-3' }, tUser, tLabel, tDays),
    h('div', { class: 'actions' }, tBtn), secretBox);
  tForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const el = tForm.elements;
    await busy(tBtn, 'Issuing…', async () => {
      const t = await api('POST', `/v1/users/${encodeURIComponent(el.user.value)}/tokens`,
        { label: el.label.value.trim(), days: parseInt(el.days.value, 10) || 90 });
      const code = h('code', { class: 'secret', id: 'token-secret' }, t.secret);
      const copy = h('button', { type: 'button', class: 'btn small' }, 'Copy');
      copy.addEventListener('click', async () => {
        try {
          await navigator.clipboard.writeText(t.secret);
          copy.textContent = 'Copied';
        } catch {
          window.getSelection().selectAllChildren(code);
        }
      });
      secretBox.replaceChildren(h('div', { class: 'secret-box', role: 'alert' },
        h('p', {}, h('strong', {}, `Token #${t.id} for ${t.user}. `),
          'Copy it now: it is shown only once and cannot be recovered. It expires ', fmtTime(t.expires_at), '.'),
        h('p', {}, code, ' ', copy),
        h('p', { class: 'help' }, 'Use it as: Authorization: Bearer <token>')));
      await refreshTokens();
    }, tForm);
  });

  const tokenList = h('div', {});
  const tokenRows = (list) => list.map((t) => {
    let action = '—';
    if (!t.revoked_at) {
      action = h('button', { type: 'button', class: 'btn small danger' }, 'Revoke');
      action.addEventListener('click', async () => {
        if (!window.confirm(`Revoke token #${t.id} of ${t.user}?`)) return;
        await busy(action, '…', async () => {
          await api('DELETE', `/v1/tokens/${t.id}`);
          flash(`Token #${t.id} revoked.`, 'ok');
          await refreshTokens();
        });
      });
    }
    return [`#${t.id}`, t.user, t.label || '—', timeEl(t.created_at), timeEl(t.expires_at),
      t.revoked_at ? badge(`revoked ${fmtTime(t.revoked_at)}`, 'muted') : badge('valid', 'ok'), action];
  });
  const drawTokens = (list) => tokenList.replaceChildren(
    table(['Token', 'User', 'Label', 'Created', 'Expires', 'State', ''], tokenRows(list), { empty: 'No API tokens.' }));
  const refreshTokens = async () => drawTokens((await api('GET', '/v1/tokens')).tokens);
  drawTokens(tokens);

  view.append(
    h('section', { 'aria-labelledby': 'users-h' }, h('h2', { id: 'users-h' }, 'Users'),
      table(['Name', 'Role', 'State', 'Created', 'Sources it may enrol into', ''], userRows)),
    form,
    h('section', { 'aria-labelledby': 'tokens-h' }, h('h2', { id: 'tokens-h' }, 'API tokens'), tokenList),
    tForm);
}

// ------------------------------------------------------------------ sources

async function pageSources(view) {
  view.append(h('h1', {}, 'Sources'),
    h('p', { class: 'lead' }, 'Every photo in the gallery comes from a source that states the legal basis for holding it. ',
      'Photos cannot be enrolled without one.'));
  const done = loading(view);
  const [{ sources }, gallery] = await Promise.all([api('GET', '/v1/sources'), api('GET', '/v1/gallery').catch(() => null)]);
  done();
  const counts = new Map(((gallery && gallery.sources) || []).map((s) => [s.name, s]));
  if (gallery) {
    view.append(h('p', { class: 'summary', id: 'gallery-summary' },
      `The gallery holds ${fmtCount(gallery.faces)} searchable faces in ${fmtCount(gallery.images)} images `,
      `(${fmtCount(gallery.subjects)} named subjects).`));
  }
  // GET /v1/gallery counts each source's images (photos enrolled) and faces (faces found
  // in them): a group photo is one image with several faces.
  view.append(table(['Name', 'Legal basis', 'Description', 'Collected by', 'Collected', 'Retain until', 'Images', 'Faces'],
    sources.map((s) => {
      const n = counts.get(s.name);
      return [s.name, s.legal_basis, s.description || '—', s.collected_by || '—', s.collected_at || '—',
        s.retention_until || '—',
        h('span', { class: 'num', 'data-count': 'images' }, fmtCount(n ? n.images : 0)),
        h('span', { class: 'num', 'data-count': 'faces' }, fmtCount(n ? n.faces : 0))];
    }), { empty: 'No sources yet.', id: 'sources-table' }));

  if (state.role !== 'admin') return;
  const fields = [
    field('Name', { name: 'name', required: true, maxlength: 200, id: 'ns-name' }),
    field('Legal basis', { name: 'legal_basis', required: true, maxlength: 1000, id: 'ns-legal' },
      { help: 'The law, regulation or consent under which these photos are held and searched.' }),
    field('Description', { name: 'description', maxlength: 1000, id: 'ns-desc' }),
    field('Collected by', { name: 'collected_by', maxlength: 1000, id: 'ns-by' }),
    field('Collected at', { name: 'collected_at', type: 'date', id: 'ns-at' }),
    field('Retain until', { name: 'retention_until', type: 'date', id: 'ns-until' }),
  ];
  const btn = h('button', { type: 'submit', class: 'btn primary' }, 'Add source');
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'ns-h' },
    h('h2', { id: 'ns-h' }, 'Add a source'), h('div', { class: 'grid-3' }, fields), h('div', { class: 'actions' }, btn));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {};
    for (const k of ['name', 'legal_basis', 'description', 'collected_by', 'collected_at', 'retention_until']) {
      const v = form.elements[k].value.trim();
      if (v) body[k] = v;
    }
    if (!body.name || !body.legal_basis) {
      formStatus(form, new Error('A source needs a name and a legal basis.'));
      return;
    }
    await busy(btn, 'Adding…', async () => {
      await api('POST', '/v1/sources', body);
      flash(`Source ${body.name} added.`, 'ok', { keep: true });
      render();
    }, form);
  });
  view.append(form);
}

// ------------------------------------------------------------------ enrolment

async function pageEnrol(view) {
  view.append(h('h1', {}, 'Enrol photos'),
    h('p', { class: 'lead' }, 'Add photos to the gallery under a source. Every face found becomes searchable. ',
      'Photos already enrolled, and people who opted out, are skipped.'));
  const done = loading(view);
  const { sources } = await api('GET', '/v1/sources');
  done();
  if (!sources.length) {
    view.append(h('p', { class: 'empty' }, 'There is no source yet: an admin must add one with its legal basis first.'));
    return;
  }
  const src = field('Source', { name: 'source', id: 'en-source' },
    { kind: 'select', options: sources.map((s) => [s.name, `${s.name} — ${s.legal_basis}`]),
      help: state.role === 'enroller' ? 'You can enrol only into the sources an admin granted you.' : '' });
  const files = field('Photos', { name: 'files', type: 'file', accept: IMAGE_ACCEPT, multiple: true, id: 'en-files', required: true },
    { help: `${IMAGE_FORMATS}.` });
  const btn = h('button', { type: 'submit', class: 'btn primary' }, 'Upload and enrol');
  const progress = h('div', { 'aria-live': 'polite', id: 'enrol-progress' });
  const form = h('form', { class: 'card', novalidate: true }, src, files, h('div', { class: 'actions' }, btn));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const list = form.elements.files.files;
    if (!list.length) {
      formStatus(form, new Error('Choose one or more photos.'));
      return;
    }
    const refused = [...list].map(imageFileProblem).filter(Boolean);
    if (refused.length) {
      formStatus(form, new Error(refused.join(' ')));
      return;
    }
    const fd = new FormData();
    fd.append('source', form.elements.source.value);
    for (const f of list) fd.append('files', f, f.name);
    await busy(btn, 'Uploading…', async () => {
      const job = await api('POST', '/v1/enrollments', fd);
      progress.replaceChildren(h('p', {}, `Job #${job.job} started for ${job.files} file(s)…`));
      for (;;) {
        const s = await api('GET', `/v1/enrollments/${job.job}`);
        progress.replaceChildren(h('div', { class: 'card' },
          h('h2', {}, `Enrolment job #${s.job}: ${s.state}`),
          h('progress', { max: String(s.files || 1), value: String(s.done) }, `${s.done} of ${s.files}`),
          dl([
            ['Photos processed', `${s.done} of ${s.files}`],
            ['Faces enrolled', String(s.faces)],
            ['Images enrolled', String(s.enrolled)],
            ['Already enrolled', String(s.duplicates)],
            s.error ? ['Error', s.error] : null,
          ]),
          s.problems && s.problems.length
            ? table(['File', 'Problem'], s.problems.map((p) => [p.file, p.reason]), { caption: 'Photos not enrolled' })
            : null));
        if (!['queued', 'running'].includes(s.state)) break;
        await new Promise((res) => setTimeout(res, 1000));
      }
    }, form);
  });
  view.append(form, progress);
  // Admins (who hold no cases) may rebuild persons after a large enrolment.
  if (state.role === 'admin') view.append(h('section', { 'aria-label': 'Persons' }, rebuildCard(0)));
}

// ------------------------------------------------------------------ start

async function start() {
  window.addEventListener('hashchange', render);
  // GET /v1/session answers 200 whether or not this browser is signed in, so loading the
  // page never logs a 401 in the browser's console.
  try {
    const s = await api('GET', '/v1/session');
    if (s && s.signed_in) setSession(s);
    else clearSession();
  } catch {
    clearSession();
  }
  render();
}

start();
