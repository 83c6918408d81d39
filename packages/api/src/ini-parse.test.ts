import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIniText } from './ini-parse.js';
import { dnsLabelProblem, shellSplit, suggestDnsLabel } from './ini-util.js';

describe('parseIniText', () => {
  it('keeps line numbers of sections and keys, lower-cases keys, keeps section names', () => {
    const doc = parseIniText('; c\n[Alpha]\nKey = v1\n\n# c\n[beta.http]\nx: y = z\n');
    expect(doc.issues).toEqual([]);
    expect(doc.sections).toEqual([
      { name: 'Alpha', line: 2, entries: [{ key: 'key', value: 'v1', line: 3 }] },
      { name: 'beta.http', line: 6, entries: [{ key: 'x', value: 'y = z', line: 7 }] },
    ]);
  });

  it('inline comments need whitespace before the mark; quotes protect them', () => {
    const doc = parseIniText('[s]\na = v ; c\nb = p;w#d\nc = "q ; r"\nd = \'s # t\'\ne = x\t# tab\n');
    expect(doc.sections[0]?.entries.map((e) => [e.key, e.value])).toEqual([
      ['a', 'v'],
      ['b', 'p;w#d'],
      ['c', 'q ; r'],
      ['d', 's # t'],
      ['e', 'x'],
    ]);
  });

  it('indented lines continue the previous value; a blank line ends it', () => {
    const doc = parseIniText('[s]\nbody = one\n  two\n\tthree\n\n  other = 1\n');
    expect(doc.sections[0]?.entries).toEqual([
      { key: 'body', value: 'one\ntwo\nthree', line: 2 },
      { key: 'other', value: '1', line: 6 },
    ]);
  });

  it('reports keys outside sections, duplicate sections/keys, empty headers and junk', () => {
    const doc = parseIniText('top = 1\n[a]\nk = 1\nk = 2\n[a]\nz = 3\n[]\nnonsense\n');
    expect(doc.issues.map((i) => [i.line, i.section, i.key])).toEqual([
      [1, undefined, 'top'],
      [4, 'a', 'k'],
      [5, 'a', undefined],
      [7, undefined, undefined],
      [8, undefined, undefined],
    ]);
    // the duplicate section's keys are ignored, the first one's are kept
    expect(doc.sections).toEqual([{ name: 'a', line: 2, entries: [{ key: 'k', value: '1', line: 3 }] }]);
  });

  it('never throws and every issue points at a line of the input', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom('[s]', '[t]', 'k = v', '  cont', '; c', '', '=', '[', 'x:y'), fc.string()), { maxLength: 30 }), (lines) => {
        const text = lines.join('\n');
        const doc = parseIniText(text);
        const count = text.split(/\r\n|\n|\r/).length;
        for (const issue of doc.issues) expect(issue.line).toBeGreaterThanOrEqual(1);
        for (const issue of doc.issues) expect(issue.line).toBeLessThanOrEqual(count);
        for (const s of doc.sections) for (const e of s.entries) expect(e.line).toBeGreaterThan(s.line);
      }),
    );
  });
});

describe('shellSplit', () => {
  it.each([
    ['/bin/app --x 1', ['/bin/app', '--x', '1']],
    ['  a   b  ', ['a', 'b']],
    [`run "two words" 'single "q"' esc\\ aped`, ['run', 'two words', 'single "q"', 'esc aped']],
    [`a "" ''`, ['a', '', '']],
    [`x "in \\"dq\\" \\\\ \\n"`, ['x', 'in "dq" \\ \\n']],
    [`con"cat"'ed'`, ['concated']],
    ['', []],
  ])('%s', (text, argv) => {
    expect(shellSplit(text)).toEqual({ argv });
  });

  it('rejects unterminated quotes', () => {
    expect(shellSplit(`a 'b`)).toEqual({ error: 'unterminated single quote' });
    expect(shellSplit('a "b')).toEqual({ error: 'unterminated double quote' });
  });

  it('round-trips argv quoted with single quotes', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 6 }), (argv) => {
        const text = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
        expect(shellSplit(text)).toEqual({ argv });
      }),
    );
  });
});

describe('DNS label names', () => {
  it('explains invalid names and suggests a valid one', () => {
    expect(dnsLabelProblem('web-01')).toBeUndefined();
    expect(dnsLabelProblem('Web')).toBe('it has upper-case letters');
    expect(dnsLabelProblem('-web')).toBe('it starts or ends with "-"');
    expect(dnsLabelProblem('web_01')).toBe('it may only hold lower-case letters, digits and "-"');
    expect(dnsLabelProblem('a'.repeat(64))).toBe('it is 64 characters long (at most 63)');
    expect(suggestDnsLabel('My_Web.Server!')).toBe('my-web-server');
  });

  it('suggestions are valid labels whenever they are non-empty', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (name) => {
        const s = suggestDnsLabel(name);
        if (s !== '') expect(dnsLabelProblem(s)).toBeUndefined();
      }),
    );
  });
});
