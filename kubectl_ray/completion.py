"""`kubectl_complete-ray`: shell completion for `kubectl ray` through kubectl's plugin protocol.

kubectl >= 1.26 completes a plugin by running `kubectl_complete-ray ARG... TOCOMPLETE` (the words
typed after `kubectl ray`, then the word under the cursor, "" for a new one). We print one
candidate per line (`value<TAB>description`), then `:<directive>`, a cobra ShellCompDirective:
4 = no file completion, 2 = no space after the candidate (`raycluster/`), 0 = let the shell
complete file names, 16 = directories only.

The completer walks the click command tree, so new commands and flags complete without changes
here. Commands say which names an argument takes with a completer from this module, passed as
click's `shell_complete=`:

    from kubectl_ray import completion

    @click.argument("name", required=False, shell_complete=completion.ray_clusters())
    @click.argument("targets", nargs=-1, shell_complete=completion.ray_targets())  # NAME or TYPE/NAME
    @click.argument("job", shell_complete=completion.ray_jobs())
    @click.argument("node", required=False, shell_complete=completion.ray_nodes(cluster_param="ray_cluster"))
    @click.option("-w", "--worker-group", shell_complete=completion.worker_groups(cluster_param="cluster_name"))
    @click.option("--link", shell_complete=completion.choices("gke"))

Without one, a parameter completes by its type (click.Choice: its choices; click.Path: files or
directories) or, for options, by its name (OPTION_DEFAULTS: the connection flags, --ray-cluster,
--worker-group, --file, --dry-run); anything else completes nothing (and no file names).

Live names come from the API server through the kube layer, with the connection flags typed on
the line (--kubeconfig, --context, -n, ...), within a time budget (KUBECTL_RAY_COMPLETION_TIMEOUT,
default 0.7 s for the whole TAB): an unreachable or slow cluster gives no candidates, never an
error or a traceback. This module imports only the standard library at load time, so the
command modules can import it for free.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable

if TYPE_CHECKING:
    import click
    from click.shell_completion import CompletionItem

    from kubectl_ray.kube.client import KubeClient
    from kubectl_ray.kube.flags import ConnectionFlags
    from kubectl_ray.kube.resources import Resource

# cobra's ShellCompDirective values (spf13/cobra completions.go)
DEFAULT = 0
ERROR = 1
NO_SPACE = 2
NO_FILE_COMP = 4
FILTER_FILE_EXT = 8
FILTER_DIRS = 16
KEEP_ORDER = 32

DEFAULT_BUDGET = 0.7  # seconds for every API lookup of one TAB, so a dead cluster never stalls the shell
LIST_LIMIT = 500  # one page of names is plenty for a menu
RAY_NODE_LABEL = "ray.io/is-ray-node=yes"
TYPE_PREFIX_HELP = {
    "raycluster": "a RayCluster by name",
    "rayjob": "a RayJob (its RayCluster)",
    "rayservice": "a RayService (its active RayCluster)",
}

Completer = Callable[["click.Context", "click.Parameter", str], "list[CompletionItem]"]
Pairs = Iterable[tuple[str, str]]  # (value, description)

_deadline: float | None = None  # set by main(): the end of this TAB's budget
_abandoned = False  # a lookup outlived the budget


@dataclass(frozen=True)
class Completion:
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
    global _deadline
    _deadline = time.monotonic() + _budget()
    args = list(sys.argv[1:] if argv is None else argv)
    words, incomplete = (args[:-1], args[-1]) if args else ([], "")
    try:
        result = complete(words, incomplete)
    except Exception:  # noqa: BLE001 - completion must never print a traceback into the shell
        _debug_traceback()
        result = Completion([], NO_FILE_COMP)
    try:
        sys.stdout.write(result.render())
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        pass
    if _abandoned:
        os._exit(0)  # a lookup thread is stuck in DNS or a dead socket: do not wait for it at exit
    return 0


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
        if option is not None and option.name not in EQUALS_ONLY_OPTIONS:
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
    return [CompletionItem(name, help=_one_line(help_)) for name, help_ in _subcommands(ctx, incomplete)]


def _option_names(ctx: "click.Context") -> list[tuple[str, str]]:
    """Options of the current command, hidden connection flags included, minus those already given."""
    import click
    from click.core import ParameterSource

    from kubectl_ray.cli.common import CONNECTION_PARAM_NAMES

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
    registry = _root_registry(group)
    found: list[tuple[str, str]] = []
    for name in group.list_commands(ctx):
        if registry is not None:  # the root: help from the registry, so no command module is imported
            help_, aliases = registry[name][2], registry[name][3]
        else:
            cmd = group.get_command(ctx, name)
            if cmd is None or cmd.hidden:
                continue
            help_ = cmd.get_short_help_str(limit=80)
            aliases = tuple(alias for alias, canonical in getattr(group, "aliases", {}).items() if canonical == name)
        if name.startswith(incomplete):
            found.append((name, help_))
        else:
            found.extend((alias, f"{help_} (alias of {name})") for alias in aliases if alias.startswith(incomplete))
    return found


def _root_registry(group: "click.Group") -> dict[str, tuple[str, str, str, tuple[str, ...]]] | None:
    from kubectl_ray.cli import COMMANDS
    from kubectl_ray.cli.root import cli

    return COMMANDS if group is cli else None


# --- values of options and arguments ----------------------------------------------------------

def _complete_value(ctx: "click.Context", param: "click.Parameter", incomplete: str, *,
                    after_dashdash: bool = False) -> list["CompletionItem"] | int:
    """Items from the parameter's completer, its name's default, or its type; or a bare directive."""
    import click
    from click.shell_completion import CompletionItem

    custom = getattr(param, "_custom_shell_complete", None)
    if custom is None and isinstance(param, click.Option):
        default = OPTION_DEFAULTS.get(param.name or "")
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
    fold = (lambda s: s) if choice.case_sensitive else str.casefold
    names = [c.name if hasattr(c, "name") and not isinstance(c, str) else str(c) for c in choice.choices]
    return _items((name, "") for name in names if fold(name).startswith(fold(incomplete)))


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
    seen: set[str] = set()
    candidates = []
    for item in result:
        value = str(item.value)
        if value and value not in seen:
            seen.add(value)
            candidates.append((_one_line(value), _one_line(item.help or "")))
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


# --- completers commands attach with shell_complete= ----------------------------------------------

def choices(*values: str) -> Completer:
    """Fixed values, for options that take a word but are not a click.Choice (e.g. `--link gke`)."""

    def complete_choices(ctx: "click.Context", param: "click.Parameter", incomplete: str) -> list["CompletionItem"]:
        return _items((v, "") for v in values if v.startswith(incomplete))

    return complete_choices


def files() -> Completer:
    """Let the shell complete file names (for a plain-string option such as --file)."""

    def complete_files(ctx: "click.Context", param: "click.Parameter", incomplete: str) -> list["CompletionItem"]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(incomplete, type="file")]

    return complete_files


def directories() -> Completer:
    """Let the shell complete directory names (for a plain-string option such as --out-dir)."""

    def complete_directories(ctx: "click.Context", param: "click.Parameter", incomplete: str) -> list["CompletionItem"]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(incomplete, type="dir")]

    return complete_directories


def ray_clusters() -> Completer:
    """Names of RayClusters in the namespace (every namespace with -A)."""
    return _names_of("raycluster")


def ray_jobs() -> Completer:
    """Names of RayJobs in the namespace (every namespace with -A)."""
    return _names_of("rayjob")


def ray_services() -> Completer:
    """Names of RayServices in the namespace (every namespace with -A)."""
    return _names_of("rayservice")


def ray_targets(types: tuple[str, ...] = ("raycluster", "rayjob", "rayservice"), default: str = "raycluster") -> Completer:
    """`NAME` (of the default type) or `TYPE/NAME`: names plus the `raycluster/ rayjob/ rayservice/` prefixes,
    and after `TYPE/` the names of that type (the typed spelling of TYPE is kept, `rayjobs/` works)."""
    def complete_targets(ctx: "click.Context", param: "click.Parameter", incomplete: str) -> list["CompletionItem"]:
        from kubectl_ray.kube.resources import RAY_RESOURCES

        given = _values_given(ctx, param)
        if "/" in incomplete:
            raw_type, _, partial = incomplete.partition("/")
            type_ = _canonical_type(raw_type)
            if type_ not in types:
                return []
            names = _live(ctx, lambda kube: _object_names(kube, ctx, RAY_RESOURCES[type_]))
            return _items((f"{raw_type}/{name}", help_) for name, help_ in names
                          if name.startswith(partial) and f"{raw_type}/{name}" not in given)
        prefixes = [(f"{t}/", TYPE_PREFIX_HELP.get(t, "")) for t in types if f"{t}/".startswith(incomplete)]
        names = _live(ctx, lambda kube: _object_names(kube, ctx, RAY_RESOURCES[default])) if default in types else []
        return _items([*((n, h) for n, h in names if n.startswith(incomplete) and n not in given), *prefixes])

    return complete_targets


def worker_groups(cluster_param: str | tuple[str, ...] = ("ray_cluster", "cluster_name")) -> Completer:
    """Worker group names of the RayCluster named by `cluster_param` (an argument or option already on
    the line, e.g. `scale cluster NAME -w <TAB>`), else of every RayCluster in the namespace."""
    def complete_groups(ctx: "click.Context", param: "click.Parameter", incomplete: str) -> list["CompletionItem"]:
        from kubectl_ray.kube.resources import RAYCLUSTERS

        cluster = _strip_type(_param_value(ctx, cluster_param))

        def fetch(kube: "KubeClient") -> Pairs:
            objs = [kube.get(RAYCLUSTERS, cluster)] if cluster else _first_page(kube, ctx, RAYCLUSTERS)
            for obj in objs:
                owner = (obj.get("metadata") or {}).get("name", "")
                for group in (obj.get("spec") or {}).get("workerGroupSpecs") or []:
                    if isinstance(group, dict) and group.get("groupName"):
                        yield str(group["groupName"]), f"{group.get('replicas', 0)} replicas, RayCluster {owner}"

        return _items((n, h) for n, h in _live(ctx, fetch) if n.startswith(incomplete))

    return complete_groups


def ray_nodes(cluster_param: str | tuple[str, ...] = ("ray_cluster",)) -> Completer:
    """Ray pods (label ray.io/is-ray-node=yes), of the RayCluster named by `cluster_param` when given."""
    def complete_nodes(ctx: "click.Context", param: "click.Parameter", incomplete: str) -> list["CompletionItem"]:
        from kubectl_ray.kube.resources import PODS

        cluster = _strip_type(_param_value(ctx, cluster_param))
        selector = RAY_NODE_LABEL + (f",ray.io/cluster={cluster}" if cluster else "")

        def fetch(kube: "KubeClient") -> Pairs:
            for pod in _first_page(kube, ctx, PODS, label_selector=selector):
                labels = (pod.get("metadata") or {}).get("labels") or {}
                role = labels.get("ray.io/node-type", "node")
                phase = (pod.get("status") or {}).get("phase", "")
                yield pod["metadata"]["name"], f"{role} of {labels.get('ray.io/cluster', '?')}" + (f", {phase}" if phase else "")

        return _items((n, h) for n, h in _live(ctx, fetch) if n.startswith(incomplete))

    return complete_nodes


def namespaces() -> Completer:
    """Namespaces of the cluster (for -n/--namespace)."""
    def complete_namespaces(ctx: "click.Context", param: "click.Parameter", incomplete: str) -> list["CompletionItem"]:
        from kubectl_ray.kube.resources import NAMESPACES

        def fetch(kube: "KubeClient") -> Pairs:
            page = next(kube.list_pages(NAMESPACES, page_size=LIST_LIMIT), [])
            return [(ns["metadata"]["name"], "") for ns in page]

        return _items((n, h) for n, h in _live(ctx, fetch) if n.startswith(incomplete))

    return complete_namespaces


def kubeconfig_entries(section: str) -> Completer:
    """Names of the kubeconfig's `contexts`, `clusters` or `users` (no network), as kubectl merges the files."""

    def complete_entries(ctx: "click.Context", param: "click.Parameter", incomplete: str) -> list["CompletionItem"]:
        try:
            from kubectl_ray.kube.kubeconfig import kubeconfig_paths, load_merged

            paths, explicit = kubeconfig_paths(connection_flags(ctx))
            merged = load_merged(paths, explicit)
        except Exception:  # noqa: BLE001 - a broken kubeconfig offers nothing
            _debug_traceback()
            return []
        return _items((name, _describe_entry(section, body)) for name, body in sorted(merged[section].items())
                      if name.startswith(incomplete))

    return complete_entries


def _describe_entry(section: str, body: dict[str, Any]) -> str:
    if section == "contexts":
        ns = body.get("namespace")
        return f"cluster {body.get('cluster', '?')}" + (f", namespace {ns}" if ns else "")
    if section == "clusters":
        return str(body.get("server", ""))
    return ""


# Options whose value must be attached with `=`: a bare `--dry-run` means `--dry-run=client`, as in
# kubectl, so the next word is not its value.
EQUALS_ONLY_OPTIONS = frozenset({"dry_run"})

# Options that complete by their name when the command gave no completer.
OPTION_DEFAULTS: dict[str, Callable[[], Completer]] = {
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


# --- the API lookups behind them ------------------------------------------------------------------

def connection_flags(ctx: "click.Context") -> "ConnectionFlags":
    """The connection flags typed anywhere on the line; later (inner) ones win, as when the command runs."""
    from kubectl_ray.cli.common import flags_from_kwargs
    from kubectl_ray.kube.flags import ConnectionFlags

    chain = []
    node: Any = ctx
    while node is not None:
        chain.append(node)
        node = node.parent
    flags = ConnectionFlags()
    for node in reversed(chain):
        flags = flags.merged_with(flags_from_kwargs(dict(node.params)))
    return flags


def _live(ctx: "click.Context", fetch: Callable[["KubeClient"], Pairs]) -> list[tuple[str, str]]:
    """Run `fetch` against the API server within what is left of the budget; [] on any failure or timeout."""
    remaining = (_deadline if _deadline is not None else time.monotonic() + _budget()) - time.monotonic()
    if remaining <= 0.05:
        return []
    flags = connection_flags(ctx)
    timeout = min(remaining, _parse_timeout(flags.request_timeout) or remaining)
    flags = replace(flags, request_timeout=f"{timeout:.3f}s")  # kubectl needs a unit on fractions
    found: list[tuple[str, str]] = []

    def work() -> None:
        try:
            from kubectl_ray.kube import connect

            kube = connect(flags)
            found.extend(fetch(kube))
        except BaseException:  # noqa: BLE001 - unreachable, forbidden, no CRDs: no candidates
            _debug_traceback()
            found.clear()

    global _abandoned
    worker = threading.Thread(target=work, name="completion-lookup", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        _abandoned = True
        return []
    return list(found)


def _names_of(type_: str) -> Completer:
    """Names of one Ray resource type (`raycluster`, `rayjob`, `rayservice`)."""

    def complete_names(ctx: "click.Context", param: "click.Parameter", incomplete: str) -> list["CompletionItem"]:
        from kubectl_ray.kube.resources import RAY_RESOURCES

        given = _values_given(ctx, param)
        pairs = _live(ctx, lambda kube: _object_names(kube, ctx, RAY_RESOURCES[type_]))
        return _items((n, h) for n, h in pairs if n.startswith(incomplete) and n not in given)

    return complete_names


def _object_names(kube: "KubeClient", ctx: "click.Context", res: "Resource") -> Pairs:
    for obj in _first_page(kube, ctx, res):
        yield obj["metadata"]["name"], _describe_object(obj)


def _first_page(kube: "KubeClient", ctx: "click.Context", res: "Resource", *,
                label_selector: str | None = None) -> list[dict[str, Any]]:
    all_ns = bool(_param_value(ctx, "all_namespaces"))
    pages = kube.list_pages(res, all_namespaces=all_ns, label_selector=label_selector, page_size=LIST_LIMIT)
    return next(pages, [])


def _describe_object(obj: dict[str, Any]) -> str:
    """`RayCluster, ready` / `RayJob, RUNNING`: the kind and the state KubeRay reports."""
    status = obj.get("status") or {}
    state = status.get("state") or status.get("jobStatus") or status.get("jobDeploymentStatus") or status.get("serviceStatus") or ""
    kind = obj.get("kind", "")
    return f"{kind}, {state}" if state else kind


def _param_value(ctx: "click.Context", names: str | tuple[str, ...]) -> Any:
    """The first non-empty value of the named parameters, in this context or a parent."""
    wanted = (names,) if isinstance(names, str) else names
    node: Any = ctx
    while node is not None:
        for name in wanted:
            value = node.params.get(name)
            if value not in (None, "", (), False):
                return value
        node = node.parent
    return None


def _values_given(ctx: "click.Context", param: "click.Parameter") -> set[str]:
    """Values already typed for a repeatable parameter (`delete a b <TAB>` does not offer a or b again)."""
    value = ctx.params.get(param.name or "")
    return {str(v) for v in value} if isinstance(value, (tuple, list)) else set()


def _strip_type(value: Any) -> str | None:
    """The RayCluster a NAME or TYPE/NAME names: `raycluster/demo` -> `demo`, a plain name stays;
    None for a RayJob or RayService (their cluster's name is not on the line)."""
    if not value or not isinstance(value, str):
        return None
    if "/" not in value:
        return value
    raw_type, _, name = value.partition("/")
    return name if _canonical_type(raw_type) == "raycluster" else None


def _canonical_type(raw: str) -> str:
    text = raw.lower()
    for suffix in (".ray.io",):
        text = text.removesuffix(suffix)
    return text[:-1] if text.endswith("s") and text[:-1] in TYPE_PREFIX_HELP else text


def _items(pairs: Iterable[tuple[str, str]]) -> list["CompletionItem"]:
    from click.shell_completion import CompletionItem

    return [CompletionItem(value, help=help_ or None) for value, help_ in pairs]


def _budget() -> float:
    try:
        return max(0.0, float(os.environ.get("KUBECTL_RAY_COMPLETION_TIMEOUT", DEFAULT_BUDGET)))
    except ValueError:
        return DEFAULT_BUDGET


def _parse_timeout(value: str | None) -> float | None:
    if not value:
        return None
    try:
        from kubectl_ray.parsing import parse_duration

        return parse_duration("--request-timeout", value, bare_seconds=True) or None
    except Exception:  # noqa: BLE001 - a bad flag value is the command's business, not the TAB's
        return None


def _debug_traceback() -> None:
    if os.environ.get("KUBECTL_RAY_DEBUG"):
        import traceback

        traceback.print_exc(file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
