/**
 * Shared printers for `-o table|wide|json|yaml|name`. Data goes to stdout,
 * diagnostics to stderr.
 */
import { Flags } from '@oclif/core';
import { stringify } from 'yaml';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name' | 'ocsf' | 'ecs';

export const outputFlag = (options: OutputFormat[] = ['table', 'wide', 'json', 'yaml', 'name'], dflt: OutputFormat = 'table') =>
  Flags.string({ char: 'o', description: `output format (${options.join('|')})`, options, default: dflt });

export interface Column<T> {
  header: string;
  get: (row: T) => string | number | undefined;
  /** only shown with -o wide */
  wide?: boolean;
}

/** Render rows as an aligned plain-text table (kubectl style: upper-case headers, 3-space gaps). */
export function renderTable<T>(rows: T[], columns: Column<T>[], wide = false): string {
  const cols = columns.filter((c) => wide || !c.wide);
  const cells = rows.map((r) => cols.map((c) => String(c.get(r) ?? '<none>')));
  const widths = cols.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (i === vals.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(cols.map((c) => c.header.toUpperCase())), ...cells.map(line)].join('\n') + '\n';
}

export function renderJson(data: unknown): string {
  return JSON.stringify(data, null, 2) + '\n';
}

export function renderYaml(data: unknown): string {
  return stringify(data, { lineWidth: 0 });
}

/** Render multiple documents as multi-document YAML. */
export function renderYamlDocs(docs: unknown[]): string {
  return docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
}

export function render<T>(format: string, rows: T[], columns: Column<T>[], opts: { name?: (row: T) => string; json?: unknown; yaml?: unknown } = {}): string {
  switch (format) {
    case 'json':
      return renderJson(opts.json ?? rows);
    case 'yaml':
      return Array.isArray(opts.yaml) ? renderYamlDocs(opts.yaml) : renderYaml(opts.yaml ?? rows);
    case 'name':
      return rows.map((r) => (opts.name ? opts.name(r) : String(columns[0]!.get(r)))).join('\n') + (rows.length ? '\n' : '');
    case 'wide':
      return renderTable(rows, columns, true);
    default:
      return rows.length === 0 ? '' : renderTable(rows, columns, false);
  }
}
