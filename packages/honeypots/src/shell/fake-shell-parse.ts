/**
 * Shell line parser for the fake shell: quotes, backslash escapes, the
 * operators ; && || | and output redirections. Bounded: the line, the number
 * of words and the number of commands are capped, so attacker input can only
 * ever produce a small parse result.
 */

export type Joiner = ';' | '&&' | '||' | '|';

export interface ParsedCommand {
  argv: string[];
  /** how this command is joined to the previous one (first: ';') */
  joiner: Joiner;
  /** output redirected to a file (> or >>): the target */
  redirect?: string;
}

export const MAX_SHELL_LINE = 4096;
export const MAX_WORDS = 128;
export const MAX_COMMANDS = 32;

const MAX_WORD = 8192;

/** Read a `$NAME` / `${NAME}` at `i` (line[i] === '$'); returns the name and the index after it. */
function readVar(line: string, i: number): { name: string; next: number } | undefined {
  const m = /^\$(?:\{(\w+)\}|(\w+))/.exec(line.slice(i, i + 200));
  if (!m) return undefined;
  return { name: (m[1] ?? m[2])!, next: i + m[0].length };
}

/** Split a line into commands; `vars` resolves $NAME outside single quotes. */
export function parseShellLine(input: string, vars: (name: string) => string | undefined = () => undefined): ParsedCommand[] {
  const line = input.length > MAX_SHELL_LINE ? input.slice(0, MAX_SHELL_LINE) : input;
  const out: ParsedCommand[] = [];
  let cur: ParsedCommand = { argv: [], joiner: ';' };
  let word = '';
  let inWord = false;
  let redirectNext = false;
  const endWord = () => {
    if (!inWord) return;
    if (redirectNext) {
      cur.redirect = word;
      redirectNext = false;
    } else if (cur.argv.length < MAX_WORDS) cur.argv.push(word);
    word = '';
    inWord = false;
  };
  const endCommand = (next: Joiner) => {
    endWord();
    if (cur.argv.length > 0 && out.length < MAX_COMMANDS) out.push(cur);
    cur = { argv: [], joiner: next };
    redirectNext = false;
  };
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      word += end < 0 ? line.slice(i + 1) : line.slice(i + 1, end);
      inWord = true;
      i = end < 0 ? line.length : end + 1;
    } else if (c === '"') {
      i++;
      inWord = true;
      while (i < line.length && line[i] !== '"') {
        const v = line[i] === '$' ? readVar(line, i) : undefined;
        if (v) {
          word = (word + (vars(v.name) ?? '')).slice(0, MAX_WORD);
          i = v.next;
          continue;
        }
        if (line[i] === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) i++;
        word += line[i]!;
        i++;
      }
      i++;
    } else if (c === '\\') {
      if (i + 1 < line.length) word += line[i + 1]!;
      inWord = true;
      i += 2;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      endWord();
      i++;
    } else if (c === '#' && !inWord) {
      break;
    } else if (c === ';') {
      endCommand(';');
      i++;
    } else if (c === '&' && line[i + 1] === '&') {
      endCommand('&&');
      i += 2;
    } else if (c === '|' && line[i + 1] === '|') {
      endCommand('||');
      i += 2;
    } else if (c === '|') {
      endCommand('|');
      i++;
    } else if (c === '&') {
      endCommand(';');
      i++;
    } else if (c === '>') {
      // "2>" / "2>&1": a file-descriptor prefix is not a word
      if (inWord && /^[0-9]$/.test(word)) {
        word = '';
        inWord = false;
      } else endWord();
      i += line[i + 1] === '>' ? 2 : 1;
      if (line[i] === '&') {
        i++;
        while (i < line.length && /[0-9-]/.test(line[i]!)) i++;
      } else redirectNext = true;
    } else {
      const v = c === '$' ? readVar(line, i) : undefined;
      if (v) {
        word = (word + (vars(v.name) ?? '')).slice(0, MAX_WORD);
        i = v.next;
      } else {
        word += c;
        i++;
      }
      inWord = true;
    }
  }
  endCommand(';');
  return out;
}
