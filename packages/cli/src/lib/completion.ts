/**
 * `decnetctl completion bash|zsh|fish`: shell completion scripts generated from the
 * oclif command list (ids, flags, flag option values, positional arg options such as
 * `get deckies|fleets`). Pure: commands in, script text out.
 */

export interface CompletionFlag {
  name: string;
  char?: string;
  /** true: takes a value */
  takesValue: boolean;
  options?: readonly string[];
  description?: string;
}

export interface CompletionCommand {
  /** words separated by spaces, e.g. `images build` (oclif ids use `:`) */
  id: string;
  description?: string;
  flags: CompletionFlag[];
  /** positional args in order; options when the arg has a fixed set */
  args: { name: string; options?: readonly string[] }[];
}

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface LoadableLike {
  id: string;
  description?: string;
  hidden?: boolean;
  flags?: Record<string, { type?: string; char?: string; options?: readonly string[]; description?: string; hidden?: boolean }>;
  args?: Record<string, { options?: readonly string[] }>;
}

/** From `this.config.commands` (or the values of oclif.manifest.json's `commands`). */
export function completionCommands(loadables: Iterable<LoadableLike>): CompletionCommand[] {
  const out: CompletionCommand[] = [];
  for (const c of loadables) {
    if (c.hidden) continue;
    const flags = Object.entries(c.flags ?? {})
      .filter(([, f]) => !f.hidden)
      .map(([name, f]) => {
        const flag: CompletionFlag = { name, takesValue: f.type !== 'boolean' };
        if (f.char) flag.char = f.char;
        if (f.options?.length) flag.options = f.options;
        if (f.description) flag.description = f.description;
        return flag;
      });
    const args = Object.entries(c.args ?? {}).map(([name, a]) => (a.options?.length ? { name, options: a.options } : { name }));
    out.push({ id: c.id.split(':').join(' '), ...(c.description ? { description: c.description.split('\n')[0] } : {}), flags, args });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const flagWords = (f: CompletionFlag) => [`--${f.name}`, ...(f.char ? [`-${f.char}`] : [])];

/** prefix ('' for the top level) -> the next words (sub-commands and topics) */
function childrenByPrefix(cmds: CompletionCommand[]): Map<string, string[]> {
  const m = new Map<string, Set<string>>();
  for (const c of cmds) {
    const words = c.id.split(' ');
    for (let i = 0; i < words.length; i++) {
      const prefix = words.slice(0, i).join(' ');
      if (!m.has(prefix)) m.set(prefix, new Set());
      m.get(prefix)!.add(words[i]!);
    }
  }
  return new Map([...m].map(([k, v]) => [k, [...v].sort()]));
}

/** The shell functions both bash and zsh use: pure `case` lookups, no arrays. */
function lookupFunctions(cmds: CompletionCommand[]): string {
  const children = childrenByPrefix(cmds);
  const cases = (name: string, entries: [string, string][]) =>
    [`${name}() {`, '  case "$1" in', ...entries.map(([k, v]) => `    ${q(k)}) echo ${q(v)} ;;`), '  esac', '}'].join('\n');
  const valueFlags: [string, string][] = [];
  const flagValues: [string, string][] = [];
  const argValues: [string, string][] = [];
  for (const c of cmds) {
    valueFlags.push([c.id, c.flags.filter((f) => f.takesValue).flatMap(flagWords).join(' ')]);
    for (const f of c.flags) if (f.options) for (const w of flagWords(f)) flagValues.push([`${c.id}|${w}`, f.options.join(' ')]);
    c.args.forEach((a, i) => a.options && argValues.push([`${c.id}|${i}`, a.options.join(' ')]));
  }
  return [
    cases('_decnetctl_children', [...children].map(([k, v]) => [k, v.join(' ')])),
    cases('_decnetctl_is_command', cmds.map((c) => [c.id, 'yes'])),
    cases('_decnetctl_flags', cmds.map((c) => [c.id, c.flags.flatMap(flagWords).join(' ')])),
    cases('_decnetctl_value_flags', valueFlags),
    cases('_decnetctl_flag_values', flagValues),
    cases('_decnetctl_arg_values', argValues),
  ].join('\n');
}

/**
 * The candidate logic, shared by bash and zsh: `_decnetctl_candidates CUR WORD...`
 * (the words before the cursor, without the program name) prints the candidates;
 * nothing means "complete files".
 */
const CANDIDATES = `
_decnetctl_candidates() {
  local cur="$1" cmd="" w prev="" n=0 expect_value="" kids
  shift
  while [ $# -gt 0 ]; do
    w="$1"; shift
    if [ -z "$expect_value" ] && [ "\${w#-}" = "$w" ] && [ $n -eq 0 ]; then
      kids=" $(_decnetctl_children "$cmd") "
      case "$kids" in *" $w "*) cmd="\${cmd:+$cmd }$w"; prev="$w"; continue ;; esac
    fi
    if [ -n "$expect_value" ]; then expect_value=""
    elif [ "\${w#-}" != "$w" ]; then
      case "$w" in *=*) ;; *) case " $(_decnetctl_value_flags "$cmd") " in *" $w "*) expect_value=1 ;; esac ;; esac
    else n=$((n + 1))
    fi
    prev="$w"
  done
  if [ -n "$expect_value" ]; then _decnetctl_flag_values "$cmd|$prev"; return; fi
  case "$cur" in
    --*=*) local f="\${cur%%=*}"; local v; for v in $(_decnetctl_flag_values "$cmd|$f"); do echo "$f=$v"; done; return ;;
    -*) _decnetctl_flags "$cmd"; return ;;
  esac
  if [ -z "$(_decnetctl_is_command "$cmd")" ]; then _decnetctl_children "$cmd"; return; fi
  [ $n -eq 0 ] && _decnetctl_children "$cmd"
  _decnetctl_arg_values "$cmd|$n"
}
`;

export function bashScript(cmds: CompletionCommand[]): string {
  return `# decnetctl bash completion. Install: source <(decnetctl completion bash)
${lookupFunctions(cmds)}
${CANDIDATES}
_decnetctl() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  local -a before=("\${COMP_WORDS[@]:1:COMP_CWORD-1}")
  # bash splits --flag=value at '=': glue it back
  if [[ $cur == "=" ]]; then cur="\${before[-1]}="; before=("\${before[@]:0:\${#before[@]}-1}");
  elif [[ \${#before[@]} -ge 2 && \${before[-1]} == "=" ]]; then cur="\${before[-2]}=$cur"; before=("\${before[@]:0:\${#before[@]}-2}"); fi
  local out
  out="$(_decnetctl_candidates "$cur" "\${before[@]}")"
  if [[ $cur == --*=* ]]; then
    local -a vals; read -r -d '' -a vals <<<"$out"
    COMPREPLY=(); local v; for v in "\${vals[@]}"; do [[ $v == "$cur"* ]] && COMPREPLY+=("\${v#*=}"); done
    return 0
  fi
  COMPREPLY=($(compgen -W "$out" -- "$cur"))
}
complete -o bashdefault -o default -F _decnetctl decnetctl
`;
}

export function zshScript(cmds: CompletionCommand[]): string {
  return `#compdef decnetctl
# decnetctl zsh completion. Install: source <(decnetctl completion zsh), or save as _decnetctl in $fpath
${lookupFunctions(cmds)}
${CANDIDATES}
_decnetctl() {
  local cur="\${words[CURRENT]}"
  local -a before candidates
  before=("\${(@)words[2,CURRENT-1]}")
  candidates=(\${=\$(_decnetctl_candidates "$cur" "\${(@)before}")})
  if (( \${#candidates} )); then compadd -- "\${(@)candidates}"; else _files; fi
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _decnetctl "$@"; else compdef _decnetctl decnetctl; fi
`;
}

export function fishScript(cmds: CompletionCommand[]): string {
  const lines = ['# decnetctl fish completion. Install: decnetctl completion fish | source', 'complete -c decnetctl -f'];
  const children = childrenByPrefix(cmds);
  const desc = (id: string) => cmds.find((c) => c.id === id)?.description;
  const seen = (words: string[]) => words.map((w) => `__fish_seen_subcommand_from ${w}`).join('; and ');
  for (const [prefix, kids] of children) {
    const cond = prefix === '' ? '__fish_use_subcommand' : seen(prefix.split(' '));
    for (const k of kids) {
      const d = desc(prefix ? `${prefix} ${k}` : k);
      lines.push(`complete -c decnetctl -n ${q(cond)} -a ${q(k)}${d ? ` -d ${q(d)}` : ''}`);
    }
  }
  for (const c of cmds) {
    const cond = seen(c.id.split(' '));
    for (const f of c.flags) {
      const parts = [`complete -c decnetctl -n ${q(cond)} -l ${f.name}`];
      if (f.char) parts.push(`-s ${f.char}`);
      if (f.takesValue) parts.push(f.options ? `-x -a ${q(f.options.join(' '))}` : '-r -F');
      if (f.description) parts.push(`-d ${q(f.description.split('\n')[0]!)}`);
      lines.push(parts.join(' '));
    }
    const first = c.args[0];
    if (first?.options) lines.push(`complete -c decnetctl -n ${q(cond)} -a ${q(first.options.join(' '))}`);
  }
  return `${lines.join('\n')}\n`;
}

export function completionScript(shell: Shell, cmds: CompletionCommand[]): string {
  return shell === 'bash' ? bashScript(cmds) : shell === 'zsh' ? zshScript(cmds) : fishScript(cmds);
}
