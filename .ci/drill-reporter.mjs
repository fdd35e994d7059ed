// node:test reporter for `npm run drills` (.ci/drills.mjs): one JSON line per drill row.
//
// A drill test prints `drill: <name> | <figure> | <verdict>` when it passes. Those lines arrive
// as the stdout of their file, before the test's own pass or fail event, so each line belongs to
// the next test of its file that ends. A test that ends without a line is a row of its own,
// named after the test, so that a drill failing before it prints still shows, as failed.
const DRILL_LINE = /^drill:\s*(.+?)\s*\|\s*(.*?)\s*\|\s*(\S+)\s*$/;

const firstLine = (text) => String(text ?? '').split('\n')[0];

export default async function* drillRows(source) {
  /** Drill lines printed in each file and not yet claimed by a test. */
  const pending = new Map();
  /** The last `…Error: …` line each file wrote to stderr: why a file that crashed failed. */
  const lastError = new Map();
  for await (const event of source) {
    const data = event.data;
    if (event.type === 'test:stderr') {
      const line = String(data.message).trim();
      if (/^\w*Error\b/.test(line)) lastError.set(data.file, line);
      continue;
    }
    if (event.type === 'test:stdout') {
      for (const line of String(data.message).split('\n')) {
        const match = DRILL_LINE.exec(line.trim());
        if (!match) continue;
        const lines = pending.get(data.file) ?? [];
        lines.push({ name: match[1], figure: match[2], verdict: match[3] });
        pending.set(data.file, lines);
      }
      continue;
    }
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    // Left out by --test-name-pattern or --test-only: not run, not a row.
    if (data.skip === 'test name does not match pattern' || data.skip === "'only' option not set")
      continue;
    const failed = event.type === 'test:fail';
    const error = data.details?.error;
    // A file is a test of its own, named after its path: a row only when it fails (a crash).
    const isFile = data.nesting === 0 && data.file && data.name === data.file;
    if (isFile && !failed) continue;
    const why =
      (isFile && lastError.get(data.file)) ||
      firstLine(error?.cause?.message ?? error?.cause ?? error?.message);
    if (data.details?.type === 'suite') {
      // A suite fails on its own when a hook throws; its failed subtests are rows already.
      if (failed && error?.failureType !== 'subtestsFailed')
        yield row({ name: `${data.name} (hook)`, figure: why, verdict: 'fail', file: data.file });
      continue;
    }
    const lines = pending.get(data.file) ?? [];
    pending.delete(data.file);
    const verdict = failed ? 'fail' : data.skip ? 'skip' : 'pass';
    if (lines.length === 0) {
      const seconds = ((data.details?.duration_ms ?? 0) / 1000).toFixed(1);
      const figure = failed
        ? why
        : data.skip
          ? String(data.skip)
          : `no figure printed; ${seconds} s`;
      yield row({ name: data.name, figure, verdict, file: data.file });
      continue;
    }
    for (const line of lines) {
      // A test that fails after printing its line failed all the same.
      const rowVerdict = failed ? 'fail' : line.verdict;
      const figure = failed ? `${line.figure}; then failed: ${why}` : line.figure;
      yield row({ ...line, figure, verdict: rowVerdict, file: data.file });
    }
  }
  // Lines no test claimed (printed after the last test of a file ended).
  for (const [file, lines] of pending) for (const line of lines) yield row({ ...line, file });
}

function row(value) {
  return `${JSON.stringify(value)}\n`;
}
