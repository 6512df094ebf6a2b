/**
 * The shell completion script, generated from the commands themselves so it cannot drift:
 * command names first, then each (sub)command's own flags and the global ones when the word
 * being completed starts with `-`, else file names. Bash; zsh through `bashcompinit`.
 */
import type { Command } from "commander";

/** Long flags of `command` (and `--help`), space-separated. */
const flagsOf = (command: Command, globals: string[]): string =>
  [
    ...command.options.flatMap((o) => (o.long === undefined ? [] : [o.long])),
    ...globals,
    "--help",
  ].join(" ");

const names = (command: Command) => command.commands.map((c) => c.name()).join(" ");

/** A bash `case` arm choosing `words` for one top-level command. */
function arm(command: Command, globals: string[]): string {
  if (command.commands.length === 0)
    return `    ${command.name()}) flags="${flagsOf(command, globals)}";;`;
  const subs = command.commands
    .map((sub) => `        ${sub.name()}) flags="${flagsOf(sub, globals)}";;`)
    .join("\n");
  return `    ${command.name()})
      [ "$COMP_CWORD" -eq 2 ] && words="${names(command)}"
      case \${COMP_WORDS[2]} in
${subs}
      esac;;`;
}

/** The completion script for `shell` ("bash", the default, or "zsh"). */
export function completionScript(program: Command, shell = "bash"): string {
  // Global options work after any command; --version only alone.
  const globals = program.options.flatMap((o) =>
    o.long === undefined || o.long === "--version" ? [] : [o.long],
  );
  const script = `# signet completion (bash)
_signet() {
  local cur=\${COMP_WORDS[COMP_CWORD]} words="" flags=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    words="${names(program)} ${globals.join(" ")} --help --version"
  else
    case \${COMP_WORDS[1]} in
${program.commands.map((c) => arm(c, globals)).join("\n")}
    esac
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  elif [ -n "$words" ]; then
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _signet signet
`;
  return shell === "zsh" ? `autoload -U +X bashcompinit && bashcompinit\n${script}` : script;
}
