"""`kubectl_complete-ray`: shell completion for `kubectl ray` through kubectl's plugin protocol.

kubectl >= 1.26 completes a plugin by running `kubectl_complete-ray ARG... TOCOMPLETE` (the words
typed after `kubectl ray`, then the word under the cursor, "" for a new one). We print one
candidate per line (`value<TAB>description`), then `:<directive>`, a cobra ShellCompDirective:
4 = no file completion, 2 = no space after the candidate (`raycluster/`), 0 = let the shell
complete file names, 16 = directories only.

The completer walks the click command tree, so new commands and flags complete without changes
here. Which names a parameter takes is said by the command, with a name provider from
`kubectl_ray.names` passed as click's `shell_complete=` (commands never import this module).
Without one, a parameter completes by its type (click.Choice: its choices; click.Path: files or
directories) or, for options, by its name (option_defaults(): the connection flags, --ray-cluster,
--worker-group, --file, --dry-run); anything else completes nothing (and no file names).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Iterable, NamedTuple

if TYPE_CHECKING:
    import click
    from click.shell_completion import CompletionItem

    from kubectl_ray.names import Completer

# cobra's ShellCompDirective values (spf13/cobra completions.go)
DEFAULT = 0
ERROR = 1
NO_SPACE = 2
NO_FILE_COMP = 4
FILTER_FILE_EXT = 8
FILTER_DIRS = 16
KEEP_ORDER = 32


class Completion(NamedTuple):  # not a dataclass: `kubectl ray <TAB>` imports neither dataclasses nor click
    """What one TAB prints: candidates (value, description) and the directive."""

    candidates: list[tuple[str, str]]
    directive: int

    def render(self) -> str:
        lines = [f"{value}\t{help_}" if help_ else value for value, help_ in self.candidates]
        lines.append(f":{self.directive}")
        return "\n".join(lines) + "\n"


# --- entry point --------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """`kubectl_complete-ray ARG... TOCOMPLETE`; always exits 0 (a failed TAB just offers nothing)."""
    args = list(sys.argv[1:] if argv is None else argv)
    words, incomplete = (args[:-1], args[-1]) if args else ([], "")
    if not words and not incomplete.startswith("-"):  # `kubectl ray <TAB>`: from the registry, without click
        _write(_candidates(root_commands(incomplete)))
        return 0
    from kubectl_ray import names

    names.start_budget()
    try:
        result = complete(words, incomplete)
    except Exception:  # noqa: BLE001 - completion must never print a traceback into the shell
        names.debug_traceback()
        result = Completion([], NO_FILE_COMP)
    _write(result)
    if names.abandoned():
        os._exit(0)  # a lookup thread is stuck in DNS or a dead socket: do not wait for it at exit
    return 0


def _write(result: Completion) -> None:
    try:
        sys.stdout.write(result.render())
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        pass


def complete(words: list[str], incomplete: str, cli: "click.Command | None" = None) -> Completion:
    """Candidates for `kubectl ray WORDS... INCOMPLETE` (`cli`: another root command, for tests)."""
    if cli is None:
        from kubectl_ray.cli.root import cli

    options_allowed = "--" not in words  # after `--` every word is an argument
    if options_allowed and incomplete.startswith("-"):
        ctx = _resolve_context(cli, words)
        if ctx is None:
            return Completion([], NO_FILE_COMP)
        if "=" not in incomplete:
            return _finish(_complete_command(ctx, incomplete))
        flag, _, value = incomplete.partition("=")  # --output=js: complete the value, as cobra does
        option = _option_taking_value(ctx, flag)
        return _finish(_complete_value(ctx, option, value) if option else [])
    if options_allowed and words and words[-1].startswith("-"):
        # The value of the option just typed: parse the line without it (click cannot parse an option
        # that lacks its value, and would drop the arguments before it), as cobra does.
        ctx = _resolve_context(cli, words[:-1])
        option = _option_taking_value(ctx, words[-1]) if ctx is not None else None
        if option is not None and not _value_must_be_attached(option):
            return _finish(_complete_value(ctx, option, incomplete))
    ctx = _resolve_context(cli, words)
    if ctx is None:
        return Completion([], NO_FILE_COMP)
    argument = _open_argument(ctx)
    if argument is not None:
        return _finish(_complete_value(ctx, argument, incomplete, after_dashdash=not options_allowed))
    return _finish(_complete_command(ctx, incomplete))


# --- walking the command line -----------------------------------------------------------------

def _resolve_context(cli: "click.Command", words: list[str]) -> "click.Context | None":
    """The context of the innermost command on the line, parsed leniently (nothing runs);
    None when a word names no command (nothing sensible to offer after a typo)."""
    import click

    ctx = cli.make_context("kubectl ray", list(words), resilient_parsing=True)
    args = [*ctx._protected_args, *ctx.args]
    while args and isinstance(ctx.command, click.Group):
        name, cmd, args = ctx.command.resolve_command(ctx, args)
        if cmd is None:
            return None
        ctx = cmd.make_context(name, args, parent=ctx, resilient_parsing=True)
        args = [*ctx._protected_args, *ctx.args]
    return ctx


def _option_taking_value(ctx: "click.Context", flag: str) -> "click.Option | None":
    import click

    for param in ctx.command.get_params(ctx):
        if isinstance(param, click.Option) and not (param.is_flag or param.count) and flag in param.opts:
            return param
    return None


def _value_must_be_attached(option: "click.Option") -> bool:
    """pflag's NoOptDefVal (cli/grammar.py): a bare `--dry-run` means client, so the next word is not its value."""
    from kubectl_ray.cli.grammar import NO_OPT_DEFAULT_ATTR

    return getattr(option, NO_OPT_DEFAULT_ATTR, None) is not None


def _open_argument(ctx: "click.Context") -> "click.Argument | None":
    """The first positional argument still waiting for a value."""
    import click

    for param in ctx.command.get_params(ctx):
        if isinstance(param, click.Argument) and _argument_open(ctx, param):
            return param
    return None


def _argument_open(ctx: "click.Context", param: "click.Argument") -> bool:
    from click.core import ParameterSource

    value = ctx.params.get(param.name or "")
    if param.nargs == -1 or ctx.get_parameter_source(param.name or "") is not ParameterSource.COMMANDLINE:
        return True
    return param.nargs > 1 and isinstance(value, (tuple, list)) and len(value) < param.nargs


# --- commands and option names --------------------------------------------------------------------

def _complete_command(ctx: "click.Context", incomplete: str) -> list["CompletionItem"]:
    from click.shell_completion import CompletionItem

    if incomplete.startswith("-"):
        return [CompletionItem(name, help=_one_line(help_)) for name, help_ in _option_names(ctx) if name.startswith(incomplete)]
    slash = getattr(ctx.command, "complete_type_slash", None)  # `get raycluster/<TAB>`: that type's names
    if slash is not None and "/" in incomplete:
        return slash(ctx, incomplete)
    return [CompletionItem(name, help=help_) for name, help_ in _subcommands(ctx, incomplete)]


def _option_names(ctx: "click.Context") -> list[tuple[str, str]]:
    """Options of the current command, hidden connection flags included, minus those already given."""
    import click
    from click.core import ParameterSource

    from kubectl_ray.env import CONNECTION_PARAM_NAMES

    names: list[tuple[str, str]] = []
    for param in ctx.command.get_params(ctx):
        if not isinstance(param, click.Option):
            continue
        if param.hidden and param.name not in CONNECTION_PARAM_NAMES:
            continue
        if not param.multiple and ctx.get_parameter_source(param.name or "") is ParameterSource.COMMANDLINE:
            continue
        names.extend((name, _first_sentence(param.help or "")) for name in [*param.opts, *param.secondary_opts])
    return names


def _subcommands(ctx: "click.Context", incomplete: str) -> list[tuple[str, str]]:
    """Subcommand names matching `incomplete`; an alias only when its command's own name does not match."""
    import click

    group = ctx.command
    if not isinstance(group, click.Group):
        return []
    if _is_root(group):  # help from the registry, so no command module is imported
        return root_commands(incomplete)
    entries = []
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if cmd is None or cmd.hidden:
            continue
        aliases = tuple(alias for alias, canonical in getattr(group, "aliases", {}).items() if canonical == name)
        entries.append((name, cmd.get_short_help_str(limit=80), aliases))
    return _matching(entries, incomplete)


def root_commands(incomplete: str) -> list[tuple[str, str]]:
    """`kubectl ray` followed by `incomplete`: the commands of the registry (click is not needed)."""
    from kubectl_ray.cli.registry import COMMANDS, module_exists

    return _matching([(name, help_, aliases) for name, (module, _, help_, aliases) in COMMANDS.items()
                      if module_exists(module)], incomplete)


def _matching(entries: list[tuple[str, str, tuple[str, ...]]], incomplete: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for name, help_, aliases in entries:
        if name.startswith(incomplete):
            found.append((name, help_))
        else:
            found.extend((alias, f"{help_} (alias of {name})") for alias in aliases if alias.startswith(incomplete))
    return found


def _is_root(group: "click.Group") -> bool:
    from kubectl_ray.cli.root import cli

    return group is cli


# --- values of options and arguments ----------------------------------------------------------

def _complete_value(ctx: "click.Context", param: "click.Parameter", incomplete: str, *,
                    after_dashdash: bool = False) -> list["CompletionItem"] | int:
    """Items from the parameter's completer, its name's default, or its type; or a bare directive."""
    import click
    from click.shell_completion import CompletionItem

    custom = getattr(param, "_custom_shell_complete", None)
    if custom is None and isinstance(param, click.Option):
        default = option_defaults().get(param.name or "")
        if default is not None:
            return _as_items(default()(ctx, param, incomplete))
    if custom is None and isinstance(param.type, click.Choice):
        return _choice_items(param.type, incomplete)
    items = param.shell_complete(ctx, incomplete)
    if not items and custom is None and isinstance(param, click.Argument) and after_dashdash:
        return DEFAULT  # words after `--` are a command line (`job submit -- python x.py`): file names help
    return [item if isinstance(item, CompletionItem) else CompletionItem(str(item)) for item in items]


def _choice_items(choice: "click.Choice", incomplete: str) -> list["CompletionItem"]:
    """Choices as declared (`ClusterIP`, where click >= 8.2 would offer `clusterip`), matched by prefix."""
    from kubectl_ray.names import items_of

    fold = (lambda s: s) if choice.case_sensitive else str.casefold
    labels = [c.name if hasattr(c, "name") and not isinstance(c, str) else str(c) for c in choice.choices]
    return items_of((label, "") for label in labels if fold(label).startswith(fold(incomplete)))


def _as_items(values: Iterable[Any]) -> list["CompletionItem"]:
    from click.shell_completion import CompletionItem

    return [v if isinstance(v, CompletionItem) else CompletionItem(str(v)) for v in values]


def _finish(result: list["CompletionItem"] | int) -> Completion:
    """Turn items into candidates and pick the directive (files, directories, no space, none)."""
    if isinstance(result, int):
        return Completion([], result)
    kinds = {item.type for item in result}
    if "file" in kinds:
        return Completion([], DEFAULT)
    if "dir" in kinds:
        return Completion([], FILTER_DIRS)
    return _candidates((str(item.value), item.help or "") for item in result)


def _candidates(pairs: Iterable[tuple[str, str]]) -> Completion:
    """(value, help) pairs as printed: one line each, no duplicates; `raycluster/` continues without a space."""
    seen: set[str] = set()
    candidates = []
    for value, help_ in pairs:
        if value and value not in seen:
            seen.add(value)
            candidates.append((_one_line(value), _one_line(help_)))
    directive = NO_FILE_COMP
    if candidates and all(value.endswith("/") for value, _ in candidates):
        directive |= NO_SPACE  # `raycluster/` continues with a name
    return Completion(candidates, directive)


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + ("." if dot else "")


def _one_line(text: str) -> str:
    """First line, no tabs: the protocol separates value and description with one tab per line."""
    text = " ".join(str(text).split("\t"))
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:120]


def option_defaults() -> dict[str, Callable[[], "Completer"]]:
    """Options that complete by their name when the command gave no completer."""
    from kubectl_ray.names import choices, directories, files, kubeconfig_entries, namespaces, ray_clusters, \
        worker_groups

    return {
        "kubeconfig": files,
        "certificate_authority": files,
        "client_certificate": files,
        "client_key": files,
        "context": lambda: kubeconfig_entries("contexts"),
        "cluster": lambda: kubeconfig_entries("clusters"),  # the kubeconfig cluster, not a RayCluster
        "user": lambda: kubeconfig_entries("users"),
        "namespace": namespaces,
        "ray_cluster": ray_clusters,
        "worker_group": lambda: worker_groups(cluster_param=("ray_cluster", "cluster_name", "target")),
        "worker_groups": lambda: worker_groups(cluster_param=("ray_cluster", "cluster_name", "target")),
        "file": files,
        "filename": files,
        "out_dir": directories,
        "working_dir": directories,
        "dry_run": lambda: choices("none", "client", "server"),
    }


if __name__ == "__main__":
    sys.exit(main())
