import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { render, renderTable, type Column } from './output.js';
import { parseSince } from './since.js';
import { age } from './view.js';

interface Row {
  name: string;
  ip?: string;
  extra: string;
}
const cols: Column<Row>[] = [
  { header: 'name', get: (r) => r.name },
  { header: 'ip', get: (r) => r.ip },
  { header: 'extra', get: (r) => r.extra, wide: true },
];
const rows: Row[] = [
  { name: 'web-01', ip: '10.0.0.10', extra: 'x' },
  { name: 'db', extra: 'yy' },
];

describe('printers', () => {
  it('aligns a table with upper-case headers, <none> for missing values, wide columns only with -o wide', () => {
    expect(renderTable(rows, cols)).toBe('NAME     IP\nweb-01   10.0.0.10\ndb       <none>\n');
    expect(renderTable(rows, cols, true)).toBe('NAME     IP          EXTRA\nweb-01   10.0.0.10   x\ndb       <none>      yy\n');
  });
  it('prints names, json and multi-document yaml', () => {
    expect(render('name', rows, cols)).toBe('web-01\ndb\n');
    expect(JSON.parse(render('json', rows, cols))).toEqual(rows);
    const docs = parseAllDocuments(render('yaml', rows, cols, { yaml: [{ a: 1 }, { b: 2 }] })).map((d) => d.toJS());
    expect(docs).toEqual([{ a: 1 }, { b: 2 }]);
    expect(parse(render('yaml', rows, cols))).toEqual(rows);
  });
  it('prints nothing for an empty table', () => {
    expect(render('table', [], cols)).toBe('');
  });
});

describe('since and age', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  it('parses durations and times', () => {
    expect(parseSince('10m', now)).toBe(now / 1000 - 600);
    expect(parseSince('2026-01-01T11:00:00Z', now)).toBe(now / 1000 - 3600);
    expect(parseSince(undefined, now)).toBeUndefined();
    expect(() => parseSince('yesterday', now)).toThrow(/neither a duration nor a time/);
  });
  it('renders ages like kubectl', () => {
    expect(age('2026-01-01T11:59:30Z', now)).toBe('30s');
    expect(age('2026-01-01T11:00:00Z', now)).toBe('60m');
    expect(age('2026-01-01T00:00:00Z', now)).toBe('12h');
    expect(age('2025-12-25T12:00:00Z', now)).toBe('7d');
    expect(age(undefined, now)).toBe('<none>');
  });
});
