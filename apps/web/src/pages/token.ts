/**
 * Sign in: a bearer token (`rdl_…`) checked against the API, then kept in localStorage. A 401
 * anywhere brings the researcher back here with the API's message.
 */
import { type ApiClient, ApiError } from '../api.js';
import { clearToken, getToken, setToken, takeSignInMessage } from '../auth.js';
import { h, notice, replace } from '../dom.js';
import type { RouteContext } from '../router.js';
import { heading } from './common.js';

export function tokenPage(api: ApiClient) {
  return (ctx: RouteContext) => {
    const message = takeSignInMessage();
    const next = safeNext(ctx.query.get('next'));
    const status = h('div', { id: 'token-status', 'aria-live': 'polite' });
    if (message) replace(status, notice('error', `The API refused the token: ${message}`));
    const input = h('input', {
      id: 'token',
      name: 'token',
      type: 'password',
      autocomplete: 'off',
      spellcheck: 'false',
      required: true,
      placeholder: 'rdl_…',
      'aria-describedby': 'token-help',
      value: getToken() ?? '',
    });
    const form = h(
      'form',
      { class: 'token-form' },
      h('label', { for: 'token' }, 'API token'),
      h(
        'div',
        { class: 'row' },
        input,
        h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in'),
      ),
      h(
        'p',
        { id: 'token-help', class: 'help' },
        'A bearer token of your team. ',
        h('code', {}, 'npx rdlab up'),
        ' prints the embedded stack’s token; ',
        h('code', {}, 'npx rdlab token create'),
        ' makes a new one. It stays in this browser (localStorage) and goes with every request as ',
        h('code', {}, 'Authorization: Bearer …'),
        '.',
      ),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      replace(status, h('p', { role: 'status' }, 'Checking the token…'));
      try {
        await api.checkToken(token);
        setToken(token);
        ctx.go(next);
      } catch (error) {
        const text =
          error instanceof ApiError
            ? `${error.code}: ${error.message}`
            : String((error as Error).message ?? error);
        replace(status, notice('error', text));
        input.focus();
      }
    });
    const signOut = getToken()
      ? h(
          'p',
          {},
          h(
            'button',
            {
              type: 'button',
              class: 'btn',
              onclick: () => {
                clearToken();
                input.value = '';
                replace(
                  status,
                  notice('info', 'Signed out: the token was removed from this browser.'),
                );
                document.dispatchEvent(new CustomEvent('rdlab:token'));
              },
            },
            'Sign out',
          ),
        )
      : null;
    ctx.root.append(heading('Sign in'), status, form, signOut ?? '');
    if (!getToken() || message) input.focus();
  };
}

/** Only paths of this app: never another origin. */
function safeNext(next: string | null): string {
  return next?.startsWith('/') && !next.startsWith('//') && !next.startsWith('/token') ? next : '/';
}
