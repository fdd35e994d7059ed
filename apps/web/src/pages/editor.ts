/**
 * A YAML editor: a plain textarea (the browser's own editing, undo and accessibility) with a
 * gutter of line numbers beside it that scrolls with it and marks the lines with problems.
 * Lines do not wrap, so gutter and text stay aligned.
 */
import { h } from '../dom.js';

export class LineEditor {
  readonly element: HTMLElement;
  readonly textarea: HTMLTextAreaElement;
  private readonly gutter: HTMLDivElement;
  private problems = new Map<number, string[]>();
  private lineCount = 0;

  constructor(options: { id: string; label: string; value: string; describedBy?: string }) {
    this.textarea = h('textarea', {
      id: options.id,
      class: 'code',
      spellcheck: 'false',
      autocapitalize: 'off',
      autocomplete: 'off',
      wrap: 'off',
      rows: 24,
      'aria-describedby': options.describedBy ?? null,
    });
    this.textarea.value = options.value;
    this.gutter = h('div', { class: 'gutter', 'aria-hidden': 'true' });
    this.element = h(
      'div',
      { class: 'editor-field' },
      h('label', { for: options.id }, options.label),
      h('div', { class: 'editor' }, this.gutter, this.textarea),
    );
    this.textarea.addEventListener('input', () => this.renderGutter());
    this.textarea.addEventListener('scroll', () => {
      this.gutter.scrollTop = this.textarea.scrollTop;
    });
    this.renderGutter();
  }

  get value(): string {
    return this.textarea.value;
  }

  set value(text: string) {
    this.textarea.value = text;
    this.renderGutter();
  }

  /** Marks lines (1-based) with their messages; an empty map clears the marks. */
  setProblems(problems: Map<number, string[]>): void {
    this.problems = problems;
    this.lineCount = -1;
    this.renderGutter();
  }

  /** Puts the caret on a line (1-based), selects it and scrolls it into view. */
  goToLine(line: number): void {
    const lines = this.textarea.value.split('\n');
    const n = Math.max(1, Math.min(line, lines.length));
    let start = 0;
    for (let i = 0; i < n - 1; i++) start += (lines[i]?.length ?? 0) + 1;
    const end = start + (lines[n - 1]?.length ?? 0);
    this.textarea.focus();
    this.textarea.setSelectionRange(start, end);
    const lineHeight = Number.parseFloat(getComputedStyle(this.textarea).lineHeight) || 20;
    this.textarea.scrollTop = Math.max(0, (n - 1) * lineHeight - this.textarea.clientHeight / 3);
    this.gutter.scrollTop = this.textarea.scrollTop;
  }

  private renderGutter(): void {
    const count = this.textarea.value.split('\n').length;
    if (count === this.lineCount) return;
    this.lineCount = count;
    const rows: HTMLElement[] = [];
    for (let i = 1; i <= count; i++) {
      const messages = this.problems.get(i);
      rows.push(
        h(
          'div',
          {
            class: messages ? 'ln bad' : 'ln',
            'data-line': i,
            title: messages?.join('\n') ?? null,
          },
          messages ? '● ' : '',
          String(i),
        ),
      );
    }
    // Room for the textarea's horizontal scrollbar, so the last numbers can scroll level.
    this.gutter.replaceChildren(...rows, h('div', { class: 'ln-pad' }));
    this.gutter.scrollTop = this.textarea.scrollTop;
  }
}
