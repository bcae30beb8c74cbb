import { describe, expect, it } from 'vitest';
import { COLUMNS, curve, curvesTable, judge, parseCsv, show, toCsvLine, windowSecondsFor, type Row } from '../../bench/lib/soak-report.js';

function row(elapsed: number, values: Partial<Row>): Row {
  const r = Object.fromEntries(COLUMNS.map((c) => [c, NaN])) as Row;
  return Object.assign(r, { elapsed_s: elapsed }, values);
}

describe('soak report', () => {
  it('judges flatness on unrounded window medians', () => {
    // Medians 0.145 and 0.155: 6.9 % apart. Rounded to two decimals first (0.15 and 0.16, or
    // 0.14 and 0.16) the same curve would read 6.7 % or 14.3 %.
    const rows = [row(0, { eventloop_mean_ms: 0.145 }), row(10, { eventloop_mean_ms: 0.145 }), row(60, { eventloop_mean_ms: 0.155 }), row(70, { eventloop_mean_ms: 0.155 })];
    const c = curve(rows, 'eventloop_mean_ms', 60)!;
    expect(c.medians).toEqual([0.145, 0.155]);
    expect(c.medianSpreadPct).toBe(6.9);
    expect(c.spreadPct).toBe(6.9);
  });

  it('leaves out warm-up and figures an old CSV does not have', () => {
    const csv = ['elapsed_s,rss_mib,eventloop_mean_ms', '0,200,9', '60,100,0.1', '120,110,0.1'].join('\n');
    const rows = parseCsv(csv);
    expect(rows).toHaveLength(3);
    expect(Number.isNaN(rows[0]!.eventloop_p50_ms)).toBe(true);
    const curves = judge(rows, 60, 60);
    expect(curves.map((c) => c.column)).toEqual(['rss_mib', 'eventloop_mean_ms']);
    expect(curves[0]).toMatchObject({ first: 100, last: 110, medianSpreadPct: 10 });
  });

  it('round-trips a sample through the CSV', () => {
    const r = row(30, { rss_mib: 118.5, eventloop_p50_ms: 0.133, loadavg1: 0.2 });
    const back = parseCsv(COLUMNS.join(',') + '\n' + toCsvLine(r))[0]!;
    expect(back.rss_mib).toBe(118.5);
    expect(back.eventloop_p50_ms).toBe(0.133);
    expect(back.elapsed_s).toBe(30);
  });

  it('uses six windows of at least a minute, and prints three significant digits', () => {
    expect(windowSecondsFor(60, 5)).toBe(550);
    expect(windowSecondsFor(3, 1)).toBe(60);
    expect(show(0.145678)).toBe('0.146');
    expect(show(118.46)).toBe('118');
    const line = curvesTable([curve([row(0, { rss_mib: 1 }), row(10, { rss_mib: 2 })], 'rss_mib', 60)!])[2]!;
    expect(line).toBe('| rss_mib | 1 | 2 | 1 | 2 | 100 % | 100 % | 1.5 | 0 % |');
  });
});
