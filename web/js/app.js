// The dashboard's shell: hash routes, the operator's session, page titles and focus.
import { get, setToken, token, ApiError } from './api.js';
import { h, clear, message, announce } from './dom.js';
import { session, setTitle, flashInto } from './ui.js';
import { overviewView } from './views/overview.js';
import { devicesView } from './views/devices.js';
import { deviceView } from './views/device.js';
import { releasesView } from './views/releases.js';
import { releaseView } from './views/release.js';
import { alertsView } from './views/alerts.js';

const routes = [
  { re: /^\/?$/, nav: 'overview', view: overviewView, auth: true },
  { re: /^\/devices$/, nav: 'devices', view: devicesView, auth: true },
  { re: /^\/devices\/([A-Za-z0-9._:-]+)$/, nav: 'devices', view: deviceView, auth: true },
  { re: /^\/releases$/, nav: 'releases', view: releasesView, auth: false },
  { re: /^\/releases\/([^/]+)\/([^/]+)$/, nav: 'releases', view: releaseView, auth: false },
  { re: /^\/alerts$/, nav: 'alerts', view: alertsView, auth: true },
  { re: /^\/signin$/, nav: '', view: signinView, auth: false },
];

function renderSession() {
  const el = clear(document.getElementById('session'));
  if (session.who) {
    el.append(h('span', {}, 'Signed in as ', h('strong', {}, session.who.name), ` (${session.who.role})`),
      h('button', { type: 'button', class: 'secondary', onclick: signOut }, 'Sign out'));
  } else {
    el.append(h('a', { href: '#/signin' }, 'Operator sign-in'));
  }
}

function signOut() {
  setToken('', false);
  session.who = null;
  renderSession();
  announce('Signed out');
  location.hash = '#/releases';
}

async function loadSession() {
  if (!token()) {
    session.who = null;
    return;
  }
  try {
    session.who = await get('/api/v1/whoami');
  } catch (e) {
    session.who = null;
    if (e instanceof ApiError && e.status === 401) setToken('', false);
  }
}

async function refreshBadge() {
  const badge = document.getElementById('alert-badge');
  if (!session.who) {
    badge.hidden = true;
    return;
  }
  try {
    const r = await get('/api/v1/alerts?state=open&limit=1000');
    const n = r.alerts.length;
    badge.hidden = n === 0;
    badge.textContent = String(n);
    badge.setAttribute('aria-label', `${n} open alert${n === 1 ? '' : 's'}`);
  } catch {
    badge.hidden = true;
  }
}

function signinView(main, _params, ctx) {
  setTitle('Operator sign-in');
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off',
    required: true, 'aria-describedby': 'token-hint', spellcheck: 'false' });
  const remember = h('input', { id: 'remember', type: 'checkbox' });
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(status);
      setToken(input.value.trim(), remember.checked);
      await loadSession();
      if (!session.who) {
        setToken('', false);
        status.append(message('error', 'That token was not accepted (unknown, revoked or expired).'));
        input.focus();
        return;
      }
      renderSession();
      announce(`Signed in as ${session.who.name}`);
      const next = ctx.next && ctx.next !== '#/signin' ? ctx.next : '#/';
      if (location.hash === next || (next === '#/' && location.hash === '')) route();
      else location.hash = next;
    },
  },
  h('label', { for: 'token' }, 'Operator token'),
  input,
  h('p', { class: 'hint', id: 'token-hint' },
    'A token from ', h('code', {}, 'fwseal token create'), ' (fwst_…). It stays in this tab unless you choose below.'),
  h('div', { class: 'row' }, remember, h('label', { for: 'remember' }, 'Remember on this device')),
  h('p', {}, h('button', { type: 'submit' }, 'Sign in')));
  main.append(h('h1', {}, 'Operator sign-in'),
    h('p', {}, 'Release notes are public: ', h('a', { href: '#/releases' }, 'see every release'), '.'),
    form, status);
}

let seq = 0;
let routed = 0;
async function route() {
  const path = decodeURIComponent(location.hash.replace(/^#/, '')) || '/';
  const main = document.getElementById('main');
  const mine = ++seq;
  const r = routes.find((x) => x.re.test(path));
  if (!r) {
    clear(main).append(h('h1', {}, 'Page not found'),
      h('p', {}, 'There is no page at this address. ', h('a', { href: '#/' }, 'Go to the overview'), '.'));
    setTitle('Page not found');
    return;
  }
  const params = path.match(r.re).slice(1);
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === r.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  clear(main);
  if (r.auth && !session.who) {
    signinView(main, [], { next: location.hash || '#/' });
  } else {
    main.append(h('p', { class: 'loading' }, 'Loading…'));
    const frag = document.createDocumentFragment();
    try {
      await r.view(frag, params, { session });
    } catch (e) {
      frag.append(h('h1', {}, 'Something went wrong'), message('error', e.message || String(e)));
      if (e instanceof ApiError && e.status === 401) {
        setToken('', false);
        session.who = null;
        renderSession();
      }
    }
    if (mine !== seq) return; /* another page was asked for meanwhile */
    clear(main).append(frag);
  }
  const h1 = main.querySelector('h1');
  if (session.flash) flashInto(main);
  else if (h1) announce(h1.textContent);
  // Moving to another page puts focus on the new content (a screen reader reads it); the
  // first page keeps the browser's order, so Tab reaches the skip link first.
  if (routed++ > 0) main.focus({ preventScroll: false });
  refreshBadge();
}

async function start() {
  session.refresh = route;
  // The skip link moves focus without touching the address (which holds the page's route).
  document.querySelector('.skip').addEventListener('click', (ev) => {
    ev.preventDefault();
    document.getElementById('main').focus();
  });
  await loadSession();
  renderSession();
  window.addEventListener('hashchange', route);
  await route();
}

start();
