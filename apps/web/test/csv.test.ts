import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lineData, lineTable } from '../src/charts/line.js';
import { alignedToCsv, csvField, fileSlug, toCsv } from '../src/csv.js';

describe('CSV export', () => {
  it('quotes fields with commas, quotes and line breaks (RFC 4180)', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField(null), '');
    assert.equal(csvField(Number.NaN), '');
    assert.equal(csvField(0.25), '0.25');
    assert.equal(csvField(true), 'true');
  });

  it('writes a header and CRLF-terminated rows', () => {
    assert.equal(
      toCsv(
        ['variant', 'acc'],
        [
          ['none', 0.5],
          ['quantile-0.5', null],
        ],
      ),
      'variant,acc\r\nnone,0.5\r\nquantile-0.5,\r\n',
    );
  });

  it('writes aligned chart data one row per x', () => {
    assert.equal(
      alignedToCsv(
        ['epoch', 'acc'],
        [
          [0, 1],
          [0.3, null],
        ],
      ),
      'epoch,acc\r\n0,0.3\r\n1,\r\n',
    );
  });

  it('lays a line chart with a band out as x, value, low, high', () => {
    const spec = {
      x: [0, 1],
      xLabel: 'epoch',
      series: [{ label: 'acc', values: [0.3, 0.4], band: { low: [0.2, 0.3], high: [0.4, 0.5] } }],
    };
    assert.deepEqual(lineData(spec), [
      [0, 1],
      [0.3, 0.4],
      [0.2, 0.3],
      [0.4, 0.5],
    ]);
    const table = lineTable(spec);
    assert.equal(
      toCsv(table.header, table.rows),
      'epoch,acc,acc low,acc high\r\n0,0.3,0.2,0.4\r\n1,0.4,0.3,0.5\r\n',
    );
  });

  it('makes file names from titles', () => {
    assert.equal(fileSlug('Pareto demo/negative · tiny'), 'pareto-demo-negative-tiny');
    assert.equal(fileSlug('***'), 'chart');
  });
});
