import { describe, expect, it } from 'vitest';
import { formatIssue, formatPath, ManifestError } from './errors.js';
import { DecnetError } from './types.js';

describe('issue text', () => {
  it('formats the full form', () => {
    expect(
      formatIssue({ code: 'E', file: 'examples/lab.yaml', line: 12, col: 7, doc: 2, kind: 'Decky', name: 'web-01', path: 'spec.ip', message: '10.9.0.5 is outside the fleet subnet 10.213.0.0/24' }),
    ).toBe('examples/lab.yaml:12:7: document 2 (Decky web-01): spec.ip: 10.9.0.5 is outside the fleet subnet 10.213.0.0/24');
  });
  it('leaves out what is unknown', () => {
    expect(formatIssue({ code: 'E', file: 'a.yaml', doc: 1, path: '', message: 'm' })).toBe('a.yaml: document 1: m');
    expect(formatIssue({ code: 'E', kind: 'Decky', name: 'x', path: 'spec', message: 'm' })).toBe('Decky x: spec: m');
    expect(formatIssue({ code: 'E', path: '', message: 'm' })).toBe('m');
  });
  it('renders paths with indices', () => {
    expect(formatPath(['spec', 'services', 1])).toBe('spec.services[1]');
    expect(formatPath([])).toBe('');
  });
  it('wraps issues in a typed error', () => {
    const e = new ManifestError([{ code: 'E', path: 'spec', message: 'bad' }]);
    expect(e).toBeInstanceOf(DecnetError);
    expect(e.code).toBe('E_MANIFEST_INVALID');
    expect(e.message).toBe('1 problem in the manifests:\nspec: bad');
  });
});
