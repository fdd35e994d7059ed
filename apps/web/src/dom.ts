/**
 * A small element builder: `h('a', { href: '/x', class: 'btn' }, 'text', child)`. Strings become
 * text nodes (never HTML), `on*` functions become listeners, `null`/`false`/`undefined` children
 * and attributes are skipped.
 */

export type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Array<Child | Child[]>
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') {
      el.addEventListener(name.replace(/^on/, '').toLowerCase(), value);
    } else if (value === true) {
      el.setAttribute(name, '');
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Array<Child | Child[]>): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function replace(parent: Element, ...children: Array<Child | Child[]>): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A status badge: colour and the word (never colour alone). */
export function badge(text: string, kind: string, title?: string): HTMLSpanElement {
  return h('span', { class: `badge badge-${kind}`, title: title ?? null }, text);
}

/** A message box: `error`, `info` or `warn`; errors are announced (role=alert). */
export function notice(kind: 'error' | 'info' | 'warn', ...children: Child[]): HTMLDivElement {
  return h(
    'div',
    { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    ...children,
  );
}

/**
 * Re-renders `container` with `render` and puts the focus back on the equivalent element when it
 * was inside (a live page re-renders its tables; a keyboard user must not lose their place).
 * Elements are matched by href, id, aria-label or text, in that order.
 */
export function keepingFocus(container: Element, render: () => void): void {
  const active = document.activeElement;
  if (!(active instanceof HTMLElement) || !container.contains(active)) {
    render();
    return;
  }
  const key = focusKey(active);
  render();
  if (!key) return;
  for (const el of container.querySelectorAll<HTMLElement>(active.tagName)) {
    if (focusKey(el) === key) {
      el.focus({ preventScroll: true });
      return;
    }
  }
}

function focusKey(el: HTMLElement): string | null {
  const attr = el.getAttribute('href') ?? el.id ?? '';
  if (attr) return `${el.tagName}:${attr}`;
  const label = el.getAttribute('aria-label') ?? el.textContent ?? '';
  return label ? `${el.tagName}#${label}` : null;
}
