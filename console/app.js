// The console's entry module: the login form (credentials checked with /api/whoami, then kept
// as a basic-auth header in sessionStorage), the navigation, a hash router (#/queues,
// #/queues/<vhost>/<name>, ...) and a refresh of the page shown every 5 seconds.

import { loggedIn, logOut, tryLogin, get, whenUnauthorised } from './api.js';
import { channelsPage, connectionsPage } from './connections.js';
import { exchangePage, exchangesPage } from './exchanges.js';
import { overviewPage } from './overview.js';
import { permissionsPage, policiesPage, usersPage, vhostsPage } from './admin.js';
import { queuePage, queuesPage, streamsPage } from './queues.js';
import { clear, errorText, field, form, h, input, notice } from './ui.js';

const REFRESH_MS = 5000;

const NAV = [
  ['overview', 'Overview'],
  ['connections', 'Connections'],
  ['channels', 'Channels'],
  ['exchanges', 'Exchanges'],
  ['queues', 'Queues'],
  ['streams', 'Streams'],
  ['policies', 'Policies'],
  ['users', 'Users'],
  ['vhosts', 'Virtual hosts'],
  ['permissions', 'Permissions'],
];

const app = document.getElementById('app');
let timer = 0;
let current = null;

function showLogin(message) {
  clearInterval(timer);
  current = null;
  const out = h('p', { class: 'login-error', role: 'alert' }, message ?? '');
  const f = form('login', [field('Username', input('username', { autocomplete: 'username', required: true, autofocus: true })), field('Password', input('password', { type: 'password', autocomplete: 'current-password' }))], 'Log in', async (v) => {
    try {
      await tryLogin(v.username, v.password);
      sessionStorage.setItem('warren.user', v.username);
      void start();
    } catch (e) {
      clear(out, errorText(e));
    }
  });
  clear(app, h('div', { class: 'login-box' }, h('h1', {}, 'warren'), f, out));
}

whenUnauthorised(() => showLogin('Your session ended: log in again.'));

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return '';
    }
  });
  return parts;
}

function page(main, parts) {
  const [what, a, b] = parts;
  switch (what) {
    case 'connections':
      return connectionsPage(main);
    case 'channels':
      return channelsPage(main);
    case 'exchanges':
      return a !== undefined && b !== undefined ? exchangePage(main, a, b) : exchangesPage(main);
    case 'queues':
      return a !== undefined && b !== undefined ? queuePage(main, a, b) : queuesPage(main);
    case 'streams':
      return streamsPage(main);
    case 'policies':
      return policiesPage(main);
    case 'users':
      return usersPage(main);
    case 'vhosts':
      return vhostsPage(main);
    case 'permissions':
      return permissionsPage(main);
    default:
      return overviewPage(main);
  }
}

async function refreshCurrent() {
  if (current === null) return;
  try {
    await current.refresh();
  } catch (e) {
    notice(`Refresh failed: ${errorText(e)}`, 'error');
  }
}

function render() {
  if (!loggedIn()) {
    showLogin();
    return;
  }
  const parts = route();
  const active = parts[0] || 'overview';
  const logout = h('button', { type: 'button', class: 'logout' }, 'Log out');
  logout.addEventListener('click', () => {
    logOut();
    showLogin();
  });
  const main = h('main', { id: 'main' });
  clear(
    app,
    h(
      'header',
      {},
      h('a', { class: 'brand', href: '#/overview' }, 'warren'),
      h('nav', {}, NAV.map(([id, label]) => h('a', { href: `#/${id}`, class: id === active ? 'active' : '', 'data-nav': id }, label))),
      h('span', { class: 'who' }, sessionStorage.getItem('warren.user') ?? ''),
      logout,
    ),
    h('div', { id: 'notice' }),
    main,
  );
  current = page(main, parts);
  void refreshCurrent().then(() => main.setAttribute('data-loaded', 'true'));
}

async function start() {
  window.addEventListener('hashchange', render);
  render();
  clearInterval(timer);
  timer = setInterval(() => {
    // A page with focus in a form keeps what is typed: refreshes only touch the data parts.
    if (document.visibilityState === 'visible') void refreshCurrent();
  }, REFRESH_MS);
}

if (loggedIn()) {
  // A kept header may be stale (password changed): check it once.
  get('/whoami').then(
    () => start(),
    (e) => showLogin(e.status === 401 ? '' : errorText(e)),
  );
} else {
  showLogin();
}
