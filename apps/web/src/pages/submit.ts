/**
 * A new sweep: a YAML editor with line numbers. "Check" posts it with `?dryRun=true`: every
 * problem of an invalid spec is shown at its line (the JSON pointer of each problem mapped onto
 * the YAML), a valid one shows its plan (cells, shards, samples, steps, and the compute per
 * stage on each backend). "Submit" queues it and opens the experiment's page.
 */
import { type ApiClient, ApiError } from '../api.js';
import { h, notice, replace } from '../dom.js';
import { duration, flops, thousands } from '../format.js';
import type { RouteContext } from '../router.js';
import { TEMPLATES } from '../templates.js';
import type { SpecProblem, Submitted, SweepPlan } from '../types.js';
import { type LocatedProblem, lineFromMessage, locateProblems } from '../yaml-lines.js';
import { errorView, heading } from './common.js';
import { LineEditor } from './editor.js';

const DRAFT_KEY = 'rdlab.draft';

export function submitPage(api: ApiClient) {
  return (ctx: RouteContext) => {
    const draft = sessionStorage.getItem(DRAFT_KEY);
    const editor = new LineEditor({
      id: 'spec',
      label: 'Sweep spec (YAML or JSON)',
      value: draft ?? TEMPLATES[0]?.yaml ?? '',
      describedBy: 'spec-help',
    });
    const template = h(
      'select',
      { id: 'template' },
      ...TEMPLATES.map((t) => h('option', { value: t.id }, t.label)),
    );
    const useTemplate = h('button', { type: 'button', class: 'btn' }, 'Use template');
    useTemplate.addEventListener('click', () => {
      const chosen = TEMPLATES.find((t) => t.id === template.value);
      if (!chosen) return;
      if (
        editor.value.trim() &&
        editor.value !== chosen.yaml &&
        !window.confirm('Replace the text in the editor with the template?')
      )
        return;
      editor.value = chosen.yaml;
      sessionStorage.setItem(DRAFT_KEY, chosen.yaml);
      clear();
      editor.textarea.focus();
    });
    const check = h(
      'button',
      { type: 'submit', class: 'btn', id: 'check', value: 'check' },
      'Check',
    );
    const submit = h(
      'button',
      { type: 'submit', class: 'btn btn-primary', id: 'submit', value: 'submit' },
      'Submit',
    );
    const result = h('div', { id: 'check-result', 'aria-live': 'polite' });
    const form = h(
      'form',
      { class: 'submit-form', novalidate: true },
      h(
        'p',
        { id: 'spec-help', class: 'help' },
        'Datasets × attributes × targets × dropout × seeds, as in ',
        h('code', {}, 'examples/*.yaml'),
        '. Check validates the spec and plans its compute without queueing anything (Ctrl+Enter); Submit queues it.',
      ),
      h(
        'div',
        { class: 'toolbar' },
        h('label', { for: 'template' }, 'Start from '),
        template,
        useTemplate,
      ),
      editor.element,
      h('div', { class: 'actions' }, check, submit),
    );
    ctx.root.append(heading('New sweep'), form, result);

    const clear = () => {
      editor.setProblems(new Map());
      result.replaceChildren();
    };
    editor.textarea.addEventListener('input', () =>
      sessionStorage.setItem(DRAFT_KEY, editor.value),
    );
    editor.textarea.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit(check);
      }
    });

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const dryRun = (event.submitter as HTMLButtonElement | null)?.value !== 'submit';
      const text = editor.value;
      check.disabled = true;
      submit.disabled = true;
      replace(result, h('p', { role: 'status' }, dryRun ? 'Checking…' : 'Submitting…'));
      try {
        const answer = await api.submit(
          text,
          dryRun ? { dryRun: true } : { idempotencyKey: crypto.randomUUID() },
        );
        editor.setProblems(new Map());
        if (dryRun) replace(result, planView(answer));
        else {
          sessionStorage.removeItem(DRAFT_KEY);
          ctx.go(`/experiments/${answer.id}`);
        }
      } catch (error) {
        showError(error, text);
      } finally {
        check.disabled = false;
        submit.disabled = false;
      }
    });

    const showError = (error: unknown, text: string) => {
      if (error instanceof ApiError && error.code === 'RDLAB_SPEC_INVALID') {
        const problems = (error.details.problems ?? []) as SpecProblem[];
        const located = locateProblems(text, problems);
        editor.setProblems(byLine(located));
        replace(result, problemsView(located, editor));
        return;
      }
      if (error instanceof ApiError && error.code === 'RDLAB_BAD_REQUEST') {
        const line = lineFromMessage(error.message);
        if (line !== null) {
          const problem: LocatedProblem = {
            path: '',
            message: error.message,
            line,
            column: 1,
            exact: true,
          };
          editor.setProblems(byLine([problem]));
          replace(result, problemsView([problem], editor, 'The spec is not valid YAML'));
          return;
        }
      }
      editor.setProblems(new Map());
      replace(result, errorView(error));
    };
  };
}

function byLine(problems: readonly LocatedProblem[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const p of problems)
    out.set(p.line, [...(out.get(p.line) ?? []), `${p.path || 'spec'}: ${p.message}`]);
  return out;
}

function problemsView(
  problems: readonly LocatedProblem[],
  editor: LineEditor,
  title?: string,
): HTMLElement {
  return notice(
    'error',
    h(
      'h2',
      {},
      title ?? `The spec has ${problems.length} problem${problems.length === 1 ? '' : 's'}`,
    ),
    h(
      'ol',
      { id: 'problems', class: 'problems' },
      ...problems.map((p) =>
        h(
          'li',
          { 'data-line': p.line, 'data-path': p.path },
          h(
            'button',
            {
              type: 'button',
              class: 'linklike',
              onclick: () => editor.goToLine(p.line),
              'aria-label': `Go to line ${p.line}`,
            },
            `Line ${p.line}`,
          ),
          p.exact
            ? ''
            : h(
                'span',
                {
                  class: 'muted',
                  title: 'the path is not in the text: this is where its parent is',
                },
                ' (near)',
              ),
          ' ',
          p.path ? h('code', {}, p.path) : null,
          p.path ? ': ' : '',
          p.message,
          p.value !== undefined
            ? h('span', { class: 'muted' }, ` (got ${JSON.stringify(p.value)})`)
            : null,
        ),
      ),
    ),
  );
}

function planView(answer: Submitted): HTMLElement {
  const plan: SweepPlan = answer.plan;
  const stages = plan.stages.map((s) => s.stage);
  const estimates = [...plan.estimates].sort(
    (a, b) => (a.totalSeconds ?? Infinity) - (b.totalSeconds ?? Infinity),
  );
  return h(
    'section',
    { id: 'plan', class: 'notice notice-ok', 'aria-labelledby': 'plan-title' },
    h(
      'h2',
      { id: 'plan-title' },
      `Valid: “${plan.name}”, ${plan.cells} cell${plan.cells === 1 ? '' : 's'}`,
    ),
    h(
      'dl',
      { class: 'meta' },
      h('dt', {}, 'Cells'),
      h('dd', {}, String(plan.cells)),
      h('dt', {}, 'Shards'),
      h('dd', {}, String(plan.shards)),
      h('dt', {}, 'Behaviour samples'),
      h('dd', {}, thousands(plan.samples)),
      h('dt', {}, 'Training steps'),
      h('dd', {}, thousands(plan.trainingSteps)),
      h('dt', {}, 'Evaluations'),
      h('dd', {}, thousands(plan.evaluations)),
    ),
    h('h3', {}, 'Stages'),
    h(
      'table',
      { class: 'list compact' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Stage', 'Jobs', 'Compute', 'Note'].map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      h(
        'tbody',
        {},
        ...plan.stages.map((s) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, s.stage),
            h('td', { class: 'num' }, String(s.jobs)),
            h('td', { class: 'num' }, `${s.lowerBound ? '≥ ' : ''}${flops(s.flops)}`),
            h('td', { class: 'small' }, s.note ?? ''),
          ),
        ),
      ),
    ),
    h('h3', {}, 'Estimated compute time by backend'),
    h(
      'table',
      { class: 'list compact', id: 'estimates' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Backend'),
          ...stages.map((s) => h('th', { scope: 'col' }, s)),
          h('th', { scope: 'col' }, 'Total'),
        ),
      ),
      h(
        'tbody',
        {},
        ...estimates.map((e) =>
          h(
            'tr',
            {},
            h(
              'th',
              { scope: 'row', title: e.machine ?? null },
              e.backend,
              e.reference ? ' (reference)' : '',
            ),
            ...stages.map((s) => h('td', { class: 'num' }, duration(e.seconds[s] ?? null))),
            h(
              'td',
              { class: 'num' },
              h('strong', {}, `${e.lowerBound ? '≥ ' : ''}${duration(e.totalSeconds)}`),
            ),
          ),
        ),
      ),
    ),
    h(
      'details',
      {},
      h('summary', {}, `The ${answer.cells.length} cells`),
      h(
        'ul',
        { class: 'small' },
        ...answer.cells.map((c) =>
          h(
            'li',
            {},
            `${c.dataset}/${c.attribute} · ${c.target} · ${c.dropoutLabel} · seed ${c.seed}`,
          ),
        ),
      ),
    ),
    plan.assumptions?.length
      ? h(
          'details',
          {},
          h('summary', {}, 'Assumptions of the estimate'),
          h('ul', { class: 'small' }, ...plan.assumptions.map((a) => h('li', {}, a))),
        )
      : null,
  );
}
