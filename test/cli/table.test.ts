// The CLI's output helpers: aligned tables (numbers right-aligned), cells for nested values,
// column choice from arguments and --columns, unknown columns refused, JSON picking.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/client.js';
import { cellText, checkColumns, chooseColumns, formatPairs, formatTable, pick, valueAt } from '../../src/cli/table.js';

const rows = [
  { name: 'orders', messages: 12, consumers: 1, durable: true, message_stats: { publish: 40 } },
  { name: 'a-much-longer-name', messages: 3, consumers: 10, durable: false, message_stats: { publish: 5 } },
];

describe('formatTable', () => {
  it('aligns columns under a header, numbers to the right', () => {
    expect(formatTable(rows, ['name', 'messages', 'consumers', 'durable'])).toBe(
      [
        'name                messages  consumers  durable',
        'orders                    12          1  true',
        'a-much-longer-name         3         10  false',
        '',
      ].join('\n'),
    );
  });

  it('reaches into nested fields with dotted names', () => {
    expect(formatTable(rows, ['name', 'message_stats.publish'])).toBe(
      ['name                message_stats.publish', 'orders                                 40', 'a-much-longer-name                      5', ''].join('\n'),
    );
  });

  it('prints only the header for no rows', () => {
    expect(formatTable([], ['name', 'messages'])).toBe('name  messages\n');
  });
});

describe('cells and columns', () => {
  it('shows lists, objects and missing values readably', () => {
    expect(cellText(['administrator', 'monitoring'])).toBe('administrator,monitoring');
    expect(cellText({ 'x-max-length': 10 })).toBe('{"x-max-length":10}');
    expect(cellText(undefined)).toBe('');
    expect(cellText(null)).toBe('');
    expect(valueAt({ a: { b: { c: 1 } } }, 'a.b.c')).toBe(1);
    expect(valueAt({ a: 1 }, 'a.b')).toBeUndefined();
  });

  it('takes columns from arguments and --columns, else the defaults', () => {
    expect(chooseColumns(['name', 'messages'], undefined, ['x'])).toEqual(['name', 'messages']);
    expect(chooseColumns([], 'name, consumers', ['x'])).toEqual(['name', 'consumers']);
    expect(chooseColumns(['name,messages'], undefined, ['x'])).toEqual(['name', 'messages']);
    expect(chooseColumns([], undefined, ['vhost', 'name'])).toEqual(['vhost', 'name']);
  });

  it('refuses a column no row has, listing the fields there are', () => {
    expect(() => checkColumns(rows, ['name', 'mesages'])).toThrow(UsageError);
    expect(() => checkColumns(rows, ['mesages'])).toThrow("unknown column 'mesages'; the fields here are: consumers, durable, message_stats, messages, name");
    expect(() => checkColumns([], ['anything'])).not.toThrow();
  });

  it('picks columns for JSON output, keeping nesting', () => {
    expect(pick(rows, ['name', 'message_stats.publish'])).toEqual([
      { name: 'orders', message_stats: { publish: 40 } },
      { name: 'a-much-longer-name', message_stats: { publish: 5 } },
    ]);
  });

  it('aligns key/value lines', () => {
    expect(formatPairs([['node', 'warren@h'], ['connections', '3']])).toBe('node         warren@h\nconnections  3\n');
  });
});
