// node:test reporter that prints one closing line, `N passed, N failed, N skipped`, counting
// test cases (suites excluded) across every file of the run.
export default async function* summary(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const data = event.data;
    if (data.details?.type === 'suite') {
      // A suite fails on its own (not through its tests) when its body or a hook throws.
      if (event.type === 'test:fail' && data.details?.error?.failureType !== 'subtestsFailed')
        failed += 1;
      continue;
    }
    // A file is reported as a test of its own at nesting 0 with no name of ours: skip it unless it failed.
    if (data.nesting === 0 && data.file && data.name === data.file) {
      if (event.type === 'test:fail') failed += 1;
      continue;
    }
    if (data.skip || data.todo) skipped += 1;
    else if (event.type === 'test:pass') passed += 1;
    else failed += 1;
  }
  yield `\n${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}
