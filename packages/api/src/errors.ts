/**
 * Manifest issues: every validation problem found while reading manifests, with
 * where it is (file, document, kind/name, field path, line:column) and what was
 * expected. Issues are data; `ManifestError` wraps a non-empty list for callers
 * that prefer exceptions.
 */
import { DecnetError } from './types.js';

export interface ManifestIssue {
  /** stable machine code, e.g. E_SCHEMA, E_YAML, E_IP_OUTSIDE_SUBNET */
  code: string;
  /** what is wrong and what was expected */
  message: string;
  file?: string;
  /** 1-based document index inside the file */
  doc?: number;
  kind?: string;
  name?: string;
  /** dotted field path, e.g. spec.network.subnet or spec.services[1]; '' for the whole document */
  path: string;
  /** 1-based line and column of the offending YAML node */
  line?: number;
  col?: number;
}

/** Render a path array (from zod or a YAML walk) as `spec.services[1].name`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/**
 * Deterministic one-line text of an issue:
 * `examples/lab.yaml:12:7: document 2 (Decky web-01): spec.ip: 10.9.0.5 is outside ...`
 */
export function formatIssue(issue: ManifestIssue): string {
  const parts: string[] = [];
  if (issue.file !== undefined) {
    parts.push(issue.line !== undefined ? `${issue.file}:${issue.line}:${issue.col ?? 1}` : issue.file);
  }
  const who = issue.kind !== undefined ? `${issue.kind}${issue.name !== undefined ? ` ${issue.name}` : ''}` : undefined;
  if (issue.doc !== undefined) parts.push(`document ${issue.doc}${who !== undefined ? ` (${who})` : ''}`);
  else if (who !== undefined) parts.push(who);
  if (issue.path !== '') parts.push(issue.path);
  parts.push(issue.message);
  return parts.join(': ');
}

export function formatIssues(issues: readonly ManifestIssue[]): string {
  return issues.map(formatIssue).join('\n');
}

/** Thrown by `resolve` when manifests are invalid; carries every issue found. */
export class ManifestError extends DecnetError {
  constructor(readonly issues: ManifestIssue[]) {
    super(
      'E_MANIFEST_INVALID',
      `${issues.length} problem${issues.length === 1 ? '' : 's'} in the manifests:\n${formatIssues(issues)}`,
      'fix the listed fields; nothing was applied',
    );
    this.name = 'ManifestError';
  }
}
