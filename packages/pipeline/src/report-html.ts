/**
 * report.html: one self-contained page (no scripts, no external files) with the Acc + Reward
 * table (a start row: π before training), the Acc and Reward tables, the same as the authors'
 * table script measures it, a Pareto scatter per dataset and attribute, Figure 3 (Acc and Reward
 * over epochs from the start), the verdicts against the start and against `none`, a degeneration
 * alarm, the text-metric table (Tables 3–4), and the settings used.
 */
import { DEGENERATION_FRACTION, type SweepReport, type VariantSummary } from './report.js';

const esc = (s: string) =>
  s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
const num = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const COLORS: Record<string, string> = {
  none: '#6b7280',
  random: '#2563eb',
  quantile: '#dc2626',
  threshold: '#059669',
};

function grid(
  report: SweepReport,
  value: (v: VariantSummary) => string,
  best?: (v: VariantSummary) => number,
  start?: (v: VariantSummary) => string,
): string {
  const rows = [...new Set(report.variants.map((v) => `${v.target}\u0000${v.dropoutLabel}`))];
  const bestByColumn = new Map<string, number>();
  if (best) {
    for (const v of report.variants) {
      const key = `${v.target}/${v.dataset}/${v.attribute}`;
      bestByColumn.set(key, Math.max(bestByColumn.get(key) ?? Number.NEGATIVE_INFINITY, best(v)));
    }
  }
  const head = `<tr><th>target</th><th>dropout</th>${report.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
  const startRows = start
    ? [...new Set(report.variants.map((v) => v.target))]
        .map((target) => {
          const cells = report.columns.map((col) => {
            const v = report.variants.find(
              (x) => x.target === target && `${x.dataset}/${x.attribute}` === col,
            );
            return `<td>${v ? start(v) : '–'}</td>`;
          });
          return `<tr class="start"><td>${esc(target)}</td><td>start</td>${cells.join('')}</tr>`;
        })
        .join('')
    : '';
  const body = rows
    .map((row) => {
      const [target, dropout] = row.split('\u0000') as [string, string];
      const cells = report.columns.map((col) => {
        const v = report.variants.find(
          (x) =>
            x.target === target &&
            x.dropoutLabel === dropout &&
            `${x.dataset}/${x.attribute}` === col,
        );
        if (!v) return '<td>–</td>';
        const isBest =
          best && best(v) === bestByColumn.get(`${v.target}/${v.dataset}/${v.attribute}`);
        return `<td${isBest ? ' class="best"' : ''}>${value(v)}</td>`;
      });
      return `<tr><td>${esc(target)}</td><td>${dropout === 'none' ? 'N/A' : esc(dropout)}</td>${cells.join('')}</tr>`;
    })
    .join('');
  return `<table>${head}${startRows}${body}</table>`;
}

const pm = (s: { mean: number; sd: number }) =>
  s.sd > 0 ? `${num(s.mean)} <small>± ${num(s.sd)}</small>` : num(s.mean);

/** An SVG scatter of (Acc, Reward) for one dataset/attribute/target, the Pareto front joined. */
function scatter(variants: VariantSummary[], title: string): string {
  const W = 360;
  const H = 260;
  const pad = 44;
  const xs = variants.map((v) => v.acc.mean);
  const ys = variants.map((v) => v.reward.mean);
  const span = (a: number[]) => {
    const lo = Math.min(...a);
    const hi = Math.max(...a);
    const m = (hi - lo) * 0.1 || 0.01;
    return [lo - m, hi + m] as const;
  };
  const [x0, x1] = span(xs);
  const [y0, y1] = span(ys);
  const X = (x: number) => pad + ((x - x0) / (x1 - x0)) * (W - 2 * pad);
  const Y = (y: number) => H - pad - ((y - y0) / (y1 - y0)) * (H - 2 * pad);
  const front = variants.filter((v) => v.paretoOptimal).sort((a, b) => a.acc.mean - b.acc.mean);
  const points = variants
    .map(
      (v) =>
        `<circle cx="${X(v.acc.mean).toFixed(1)}" cy="${Y(v.reward.mean).toFixed(1)}" r="5" fill="${COLORS[v.dropout.kind] ?? '#000'}"${v.paretoOptimal ? ' stroke="#111" stroke-width="1.5"' : ''}><title>${esc(v.dropoutLabel)}: Acc ${num(v.acc.mean)}, Reward ${num(v.reward.mean)}</title></circle>` +
        `<text x="${(X(v.acc.mean) + 7).toFixed(1)}" y="${(Y(v.reward.mean) - 6).toFixed(1)}" font-size="9">${esc(v.dropoutLabel)}</text>`,
    )
    .join('');
  const line =
    front.length > 1
      ? `<polyline fill="none" stroke="#111" stroke-dasharray="4 3" points="${front.map((v) => `${X(v.acc.mean).toFixed(1)},${Y(v.reward.mean).toFixed(1)}`).join(' ')}"/>`
      : '';
  const axes = `<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#999"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${H - pad}" stroke="#999"/>
<text x="${W / 2}" y="${H - 10}" font-size="11" text-anchor="middle">Acc (β̄ of π's generations) ${num(x0, 2)}–${num(x1, 2)}</text>
<text x="12" y="${H / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 12 ${H / 2})">Reward ${num(y0, 2)}–${num(y1, 2)}</text>`;
  return `<figure><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${axes}${line}${points}</svg><figcaption>${esc(title)}</figcaption></figure>`;
}

/** Figure 3: one metric over epochs from the start (epoch 0), a line per variant. */
function curves(variants: VariantSummary[], metric: 'acc' | 'reward', title: string): string {
  const W = 360;
  const H = 220;
  const pad = 40;
  const points = variants.flatMap((v) => v.byEpoch.map((e) => ({ x: e.epoch, y: e[metric].mean })));
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const x1 = Math.max(1, ...xs);
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  const m = (hi - lo) * 0.1 || 0.01;
  const [y0, y1] = [lo - m, hi + m];
  const X = (x: number) => pad + (x / x1) * (W - 2 * pad);
  const Y = (y: number) => H - pad - ((y - y0) / (y1 - y0)) * (H - 2 * pad);
  const lines = variants
    .map((v) => {
      const path = v.byEpoch.map((e) => `${X(e.epoch).toFixed(1)},${Y(e[metric].mean).toFixed(1)}`);
      const last = v.byEpoch.at(-1);
      return `<polyline fill="none" stroke="${COLORS[v.dropout.kind] ?? '#000'}" stroke-width="1.5" points="${path.join(' ')}"><title>${esc(v.dropoutLabel)}</title></polyline>${last ? `<text x="${(X(last.epoch) + 3).toFixed(1)}" y="${Y(last[metric].mean).toFixed(1)}" font-size="9">${esc(v.dropoutLabel)}</text>` : ''}`;
    })
    .join('');
  const axes = `<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#999"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${H - pad}" stroke="#999"/>
<text x="${W / 2}" y="${H - 10}" font-size="11" text-anchor="middle">epoch (0 = start) 0–${x1}</text>
<text x="12" y="${H / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 12 ${H / 2})">${metric === 'acc' ? 'Acc' : 'Reward'} ${num(y0, 2)}–${num(y1, 2)}</text>`;
  return `<figure><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${axes}${lines}</svg><figcaption>${esc(title)}</figcaption></figure>`;
}

function byEpoch(report: SweepReport): string {
  const epochs = [...new Set(report.variants.flatMap((v) => v.byEpoch.map((e) => e.epoch)))].sort(
    (a, b) => a - b,
  );
  const head = `<tr><th>dataset/attribute</th><th>target</th><th>dropout</th>${epochs.map((e) => `<th>epoch ${e}</th>`).join('')}</tr>`;
  const rows = report.variants
    .map((v) => {
      const cells = epochs.map((e) => {
        const at = v.byEpoch.find((x) => x.epoch === e);
        return `<td>${at ? `${num(at.acc.mean)} / ${num(at.reward.mean)}` : '–'}</td>`;
      });
      return `<tr><td>${esc(`${v.dataset}/${v.attribute}`)}</td><td>${esc(v.target)}</td><td>${v.dropout.kind === 'none' ? 'N/A' : esc(v.dropoutLabel)}</td>${cells.join('')}</tr>`;
    })
    .join('');
  return `<table>${head}${rows}</table>`;
}

export function renderReportHtml(
  report: SweepReport,
  meta: { wallSeconds?: number; backend?: string } = {},
): string {
  const groups = new Map<string, VariantSummary[]>();
  for (const v of report.variants)
    groups.set(`${v.dataset}/${v.attribute} · ${v.target}`, [
      ...(groups.get(`${v.dataset}/${v.attribute} · ${v.target}`) ?? []),
      v,
    ]);
  const iv = (x: { mean: number; low: number; high: number }) =>
    `${x.mean >= 0 ? '+' : ''}${num(x.mean)} [${num(x.low)}, ${num(x.high)}]`;
  const verdicts = report.variants
    .map((v) => {
      const s = v.versusStart;
      const n = v.versusNone;
      const vsNone = n
        ? `<td>${iv(n.acc)}</td><td>${iv(n.reward)}</td><td class="v-${n.verdict}">${n.verdict}</td>`
        : '<td>–</td><td>–</td><td>–</td>';
      return `<tr><td>${esc(`${v.dataset}/${v.attribute}`)}</td><td>${esc(v.target)}</td><td>${v.dropout.kind === 'none' ? 'N/A' : esc(v.dropoutLabel)}</td><td>${iv(s.acc)}</td><td>${iv(s.reward)}</td><td class="v-${s.verdict}">${s.verdict}${v.degenerated ? ' <b class="alarm">degenerated</b>' : ''}</td>${vsNone}</tr>`;
    })
    .join('');
  const degenerated = report.variants.filter((v) => v.degenerated);
  const alarm = degenerated.length
    ? `<p class="alarm">Degeneration: Acc fell below ${DEGENERATION_FRACTION * 100}% of the start's in ${degenerated.map((v) => esc(`${v.dataset}/${v.attribute} ${v.target} ${v.dropoutLabel}`)).join('; ')} (§7.4: π drifted from β).</p>`
    : '';
  const withAuthors = report.variants.some((v) => v.authors);
  const authorsTable = withAuthors
    ? `<h2>As the authors' table script measures it</h2>
<p>Last-epoch figures on training samples (CHLEE-Leo/Reward-Dropout <code>evaluate_acc_reward_performance.py</code>): Acc is π's teacher-forced token accuracy against β's samples, Reward R's probability on π's greedy generations from training prefixes. Compare these with the paper's Table 1.</p>
${grid(
  report,
  (v) => (v.authors ? pm(v.authors.accPlusReward) : '–'),
  (v) => v.authors?.accPlusReward.mean ?? Number.NEGATIVE_INFINITY,
)}
<table><tr><th>dataset/attribute</th><th>target</th><th>dropout</th><th>token acc.</th><th>Reward</th></tr>${report.variants
        .map(
          (v) =>
            `<tr><td>${esc(`${v.dataset}/${v.attribute}`)}</td><td>${esc(v.target)}</td><td>${v.dropout.kind === 'none' ? 'N/A' : esc(v.dropoutLabel)}</td><td>${v.authors ? pm(v.authors.tokenAccuracy) : '–'}</td><td>${v.authors ? pm(v.authors.reward) : '–'}</td></tr>`,
        )
        .join('')}</table>`
    : '';
  const textRows = report.variants
    .map(
      (v) =>
        `<tr><td>${esc(`${v.dataset}/${v.attribute}`)}</td><td>${esc(v.target)}</td><td>${v.dropout.kind === 'none' ? 'N/A' : esc(v.dropoutLabel)}</td>${[v.bleu, v.rouge1, v.rouge2, v.rougeL, v.meteor, v.distinct1, v.distinct2, v.tokenAccuracy].map((s) => `<td>${num(s.mean)}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rdlab · ${esc(report.name)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#111}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}th{background:#f4f4f5}
td:first-child,td:nth-child(2),td:nth-child(3){text-align:left}.best{font-weight:700}small{color:#666}
figure{display:inline-block;margin:0 1rem 1rem 0}figcaption{font-size:12px;text-align:center}
.v-pareto-improvement{color:#15803d;font-weight:700}.v-dominated{color:#b91c1c}.v-trade-off{color:#b45309}
.alarm{color:#b91c1c}tr.start td{background:#fafafa;font-style:italic}
pre{background:#f8f8f8;padding:.75rem;overflow:auto;font-size:12px}
</style></head><body>
<h1>rdlab report: ${esc(report.name)}</h1>
<p>Reward dropout (Lee &amp; Lim). Acc is β's likelihood of π's generations, Reward R's probability of the attribute; both from held-out prefixes, mean ± sd over seeds. Bold: best per column.${meta.wallSeconds ? ` Wall time ${(meta.wallSeconds / 60).toFixed(1)} min.` : ''}${meta.backend ? ` Backend: ${esc(meta.backend)}.` : ''}</p>
${alarm}
<h2>Acc + Reward (Table 1 / Table 2 layout)</h2>
<p>The <i>start</i> row is π before training, evaluated on the same prefixes.</p>
${grid(
  report,
  (v) => pm(v.accPlusReward),
  (v) => v.accPlusReward.mean,
  (v) => pm(v.start.accPlusReward),
)}
<h2>Acc</h2>
${grid(
  report,
  (v) => pm(v.acc),
  (v) => v.acc.mean,
  (v) => pm(v.start.acc),
)}
<h2>Reward</h2>
${grid(
  report,
  (v) => pm(v.reward),
  (v) => v.reward.mean,
  (v) => pm(v.start.reward),
)}
${authorsTable}
<h2>Pareto fronts over (Acc, Reward)</h2>
<p>Circled points are not dominated; grey none, blue random, red quantile, green threshold.</p>
${[...groups].map(([title, vs]) => scatter(vs, title)).join('')}
<h2>Over epochs from the start (Figure 3)</h2>
${[...groups].map(([title, vs]) => curves(vs, 'acc', `${title}: Acc`) + curves(vs, 'reward', `${title}: Reward`)).join('')}
<p>Acc / Reward on the held-out prefixes at the start (epoch 0) and after each epoch.</p>
${byEpoch(report)}
<h2>Verdicts</h2>
<p>Differences to the start point (π before training, the paper's Pareto improvement) and to the <code>none</code> cell of the same dataset, attribute and target, paired over held-out prefixes and averaged over seeds, with 95% bootstrap intervals. A Pareto improvement makes at least one objective better and neither worse; its mirror is dominated; opposite moves are a trade-off.</p>
<table><tr><th>dataset/attribute</th><th>target</th><th>dropout</th><th>Δ Acc vs start</th><th>Δ Reward vs start</th><th>vs start</th><th>Δ Acc vs none</th><th>Δ Reward vs none</th><th>vs none</th></tr>${verdicts}</table>
<h2>Text quality (Tables 3–4 layout)</h2>
<table><tr><th>dataset/attribute</th><th>target</th><th>dropout</th><th>BLEU</th><th>ROUGE-1</th><th>ROUGE-2</th><th>ROUGE-L</th><th>METEOR*</th><th>distinct-1</th><th>distinct-2</th><th>token acc.</th></tr>${textRows}</table>
<p><small>*METEOR with exact and Porter-stem matching; NLTK also matches WordNet synonyms.</small></p>
<h2>Settings</h2>
<pre>${esc(JSON.stringify(report.settings, null, 2))}</pre>
</body></html>
`;
}
