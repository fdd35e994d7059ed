/**
 * Client-side routes on the History API: real URLs (`/experiments/e123`) that the API answers
 * with index.html, links that are ordinary `<a href>` (so they work with the keyboard, open in a
 * new tab, and can be copied), and one AbortSignal per page that ends its streams and timers
 * when the researcher leaves it.
 */

export interface RouteContext {
  params: Record<string, string>;
  query: URLSearchParams;
  /** Aborted when the researcher navigates away. */
  signal: AbortSignal;
  /** Where the page renders. */
  root: HTMLElement;
  /** Navigates (pushState); `replace` replaces the history entry. */
  go: (url: string, options?: { replace?: boolean }) => void;
}

export interface Route {
  /** `/experiments/:id`: `:name` matches one path segment. */
  path: string;
  /** The nav entry this page belongs to (for aria-current). */
  section: string;
  render: (ctx: RouteContext) => Promise<void> | void;
}

/** `matchPath('/cells/:id', '/cells/c1')` → `{ id: 'c1' }`; null when it does not match. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (const [i, part] of want.entries()) {
    const seg = got[i] as string;
    if (part.startsWith(':')) {
      try {
        params[part.slice(1)] = decodeURIComponent(seg);
      } catch {
        return null;
      }
    } else if (part !== seg) return null;
  }
  return params;
}

export interface RouterOptions {
  routes: Route[];
  notFound: Route;
  root: HTMLElement;
  /** Before each page: a URL to go to instead (the token page when there is no token), or null. */
  redirect?: (path: string, query: URLSearchParams) => string | null;
  /** After each page rendered (the nav's aria-current, the title). */
  after?: (route: Route, path: string) => void;
}

export class Router {
  private controller: AbortController | null = null;
  private first = true;

  constructor(private readonly options: RouterOptions) {}

  start(): void {
    window.addEventListener('popstate', () => void this.render());
    document.addEventListener('click', (event) => {
      if (event.defaultPrevented || event.button !== 0) return;
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      const a = (event.target as Element | null)?.closest?.('a');
      if (!a || a.target || a.hasAttribute('download')) return;
      const href = a.getAttribute('href');
      if (!href?.startsWith('/') || href.startsWith('//') || href.startsWith('/v1/')) return;
      if (href.startsWith('/docs') || href.startsWith('/metrics')) return;
      event.preventDefault();
      this.go(href);
    });
    void this.render();
  }

  go = (url: string, options: { replace?: boolean } = {}): void => {
    if (options.replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
    void this.render();
  };

  private async render(): Promise<void> {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const { pathname, search } = window.location;
    const query = new URLSearchParams(search);
    const elsewhere = this.options.redirect?.(pathname, query);
    if (elsewhere && elsewhere !== pathname + search) {
      this.go(elsewhere, { replace: true });
      return;
    }
    let route = this.options.notFound;
    let params: Record<string, string> = {};
    for (const candidate of this.options.routes) {
      const match = matchPath(candidate.path, pathname);
      if (match) {
        route = candidate;
        params = match;
        break;
      }
    }
    // Each page renders into its own element: a page still loading when the researcher left
    // writes into a detached one.
    const root = document.createElement('div');
    root.className = 'page';
    this.options.root.replaceChildren(root);
    this.options.root.setAttribute('aria-busy', 'true');
    try {
      await route.render({ params, query, signal: controller.signal, root, go: this.go });
    } catch (error) {
      if (!controller.signal.aborted) console.error(error);
    } finally {
      if (this.controller === controller) this.options.root.removeAttribute('aria-busy');
    }
    if (controller.signal.aborted) return;
    this.options.after?.(route, pathname);
    // Keyboard and screen-reader users land on the new page's heading, not the old link.
    if (!this.first) root.querySelector<HTMLElement>('h1')?.focus({ preventScroll: false });
    this.first = false;
  }
}
