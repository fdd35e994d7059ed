/**
 * The rdlab dashboard: routes, the API client with the stored token, the nav. Served by the API
 * from apps/web/dist (built by build.mjs); every page lives in pages/.
 *
 * | path                              | page                                         |
 * |-----------------------------------|----------------------------------------------|
 * | /                                 | experiments                                  |
 * | /experiments/:id                  | an experiment: progress, Table 1, Pareto     |
 * | /cells/:cellId?experiment=…       | a cell: curves by epoch and step, examples   |
 * | /submit                           | a new sweep: YAML editor, check, plan        |
 * | /workers                          | workers and queues                           |
 * | /token                            | sign in with a bearer token                  |
 */
import { ApiClient } from './api.js';
import { getToken, setSignInMessage } from './auth.js';
import { h } from './dom.js';
import { cellPage } from './pages/cell.js';
import { heading } from './pages/common.js';
import { experimentPage } from './pages/experiment.js';
import { experimentsPage } from './pages/experiments.js';
import { submitPage } from './pages/submit.js';
import { tokenPage } from './pages/token.js';
import { workersPage } from './pages/workers.js';
import { type Route, Router } from './router.js';

const main = document.getElementById('main');
if (!main) throw new Error('index.html has no <main id="main">');

let router: Router;
const api = new ApiClient({
  token: getToken,
  onUnauthorized: (message) => {
    setSignInMessage(message);
    // Several requests of a page may be refused at once: go to the token page once.
    if (window.location.pathname === '/token') return;
    const here = window.location.pathname + window.location.search;
    router.go(`/token?next=${encodeURIComponent(here)}`);
  },
});

const routes: Route[] = [
  { path: '/', section: 'experiments', render: experimentsPage(api) },
  { path: '/experiments/:id', section: 'experiments', render: experimentPage(api) },
  { path: '/cells/:cellId', section: 'experiments', render: cellPage(api) },
  { path: '/submit', section: 'submit', render: submitPage(api) },
  { path: '/workers', section: 'workers', render: workersPage(api) },
  { path: '/token', section: 'token', render: tokenPage(api) },
];

const notFound: Route = {
  path: '',
  section: '',
  render: (ctx) => {
    ctx.root.append(
      heading('Not found'),
      h('p', {}, 'No page here. ', h('a', { href: '/' }, 'Back to the experiments'), '.'),
    );
  },
};

const renderWho = () => {
  const who = document.getElementById('who');
  if (!who) return;
  const token = getToken();
  who.replaceChildren(
    h(
      'a',
      { href: '/token', 'data-section': 'token' },
      token ? `Token …${token.slice(-4)}` : 'Sign in',
    ),
  );
};

router = new Router({
  routes,
  notFound,
  root: main,
  redirect: (path) =>
    !getToken() && path !== '/token'
      ? `/token?next=${encodeURIComponent(path + window.location.search)}`
      : null,
  after: (route) => {
    renderWho();
    for (const a of document.querySelectorAll<HTMLAnchorElement>('[data-section]')) {
      if (a.dataset.section === route.section) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  },
});
document.addEventListener('rdlab:token', renderWho);
renderWho();
router.start();
