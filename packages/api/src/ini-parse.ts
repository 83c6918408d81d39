/**
 * A small line-oriented INI reader that keeps line numbers, so import errors can
 * point at the line. Syntax follows the original's (Python configparser defaults):
 *  - `[section]` headers (names kept as written, surrounding spaces trimmed);
 *  - `key = value` or `key: value` (the first `=` or `:` splits), keys lower-cased;
 *  - whole-line comments starting with `;` or `#` (also indented), blank lines;
 *  - an indented line right after a key continues its value (joined with "\n");
 *  - additionally, a value wrapped in matching quotes is unquoted, and an unquoted
 *    value loses a trailing ` ; comment` / ` # comment` (whitespace before the mark).
 * Problems (keys outside a section, duplicate sections or keys, lines that are
 * neither) are returned as issues; parsing carries on.
 */

export interface IniEntry {
  key: string;
  value: string;
  line: number;
}

export interface IniSection {
  name: string;
  line: number;
  entries: IniEntry[];
}

export interface IniParseIssue {
  line: number;
  section?: string;
  key?: string;
  message: string;
}

export interface IniDocument {
  sections: IniSection[];
  issues: IniParseIssue[];
}

const HEADER = /^\[([^\]]*)\]\s*$/;

export function parseIniText(text: string): IniDocument {
  const sections: IniSection[] = [];
  const issues: IniParseIssue[] = [];
  const seen = new Map<string, number>();
  let current: IniSection | undefined;
  let skipping = false; // inside a duplicate section: its lines are ignored
  let last: IniEntry | undefined; // entry a continuation line may extend
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);

  lines.forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith(';') || trimmed.startsWith('#')) {
      if (trimmed === '') last = undefined;
      return;
    }
    if (/^\s/.test(raw) && last) {
      last.value = last.value === '' ? cleanValue(trimmed) : `${last.value}\n${cleanValue(trimmed)}`;
      return;
    }
    last = undefined;
    const header = HEADER.exec(trimmed);
    if (header) {
      const name = (header[1] ?? '').trim();
      const first = seen.get(name);
      if (name === '') {
        issues.push({ line, message: 'empty section name []' });
        current = undefined;
        skipping = true;
      } else if (first !== undefined) {
        issues.push({ line, section: name, message: `duplicate section [${name}] (first defined on line ${first}); its keys are ignored` });
        skipping = true;
      } else {
        seen.set(name, line);
        current = { name, line, entries: [] };
        sections.push(current);
        skipping = false;
      }
      return;
    }
    const split = trimmed.search(/[=:]/);
    if (split <= 0) {
      issues.push({ line, section: current?.name, message: `cannot parse line (expected "[section]" or "key = value"): ${trimmed}` });
      return;
    }
    const key = trimmed.slice(0, split).trim().toLowerCase();
    const value = cleanValue(trimmed.slice(split + 1).trim());
    if (skipping) return;
    if (!current) {
      issues.push({ line, key, message: `key "${key}" appears before any [section] header` });
      return;
    }
    const dup = current.entries.find((e) => e.key === key);
    if (dup) {
      issues.push({ line, section: current.name, key, message: `duplicate key "${key}" in [${current.name}] (first set on line ${dup.line})` });
      return;
    }
    last = { key, value, line };
    current.entries.push(last);
  });
  return { sections, issues };
}

/** Unquote a quoted value, or strip a trailing inline comment from an unquoted one. */
function cleanValue(value: string): string {
  const quoted = /^(["'])(.*)\1$/s.exec(value);
  if (quoted) return quoted[2] ?? '';
  const comment = /\s[;#]/.exec(value);
  return comment ? value.slice(0, comment.index).trimEnd() : value;
}

/** Value of a key in a section, with the entry (for its line number). */
export function entryOf(section: IniSection, ...keys: string[]): IniEntry | undefined {
  return section.entries.find((e) => keys.includes(e.key));
}
