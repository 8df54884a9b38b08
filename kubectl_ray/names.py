"""Name providers: the live names (RayClusters, RayJobs, worker groups, Ray nodes, namespaces, kubeconfig
entries) and fixed values a parameter offers on TAB, attached by commands with click's `shell_complete=`:

    from kubectl_ray import names

    @click.argument("name", required=False, shell_complete=names.ray_clusters())
    @click.argument("targets", nargs=-1, shell_complete=names.ray_targets())  # NAME or TYPE/NAME
    @click.argument("node", required=False, shell_complete=names.ray_nodes(cluster_param="ray_cluster"))
    @click.option("-w", "--worker-group", shell_complete=names.worker_groups(cluster_param="cluster_name"))
    @click.option("--link", shell_complete=names.choices("gke"))

They live apart from the completer (`kubectl_ray.completion`, which walks the click tree and speaks
kubectl's plugin-completion protocol) so that commands never import the completer. Live names come
from the API server through the kube layer, with the connection flags typed on the line, within the
time budget of one TAB (`start_budget`, KUBECTL_RAY_COMPLETION_TIMEOUT, default 0.7 s): an
unreachable or slow cluster gives no candidates, never an error. Only the standard library is
imported at load time, so commands import this module for free.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, Iterable

if TYPE_CHECKING:
    import click
    from click.shell_completion import CompletionItem

    from kubectl_ray.kube.client import KubeClient
    from kubectl_ray.kube.flags import ConnectionFlags
    from kubectl_ray.kube.resources import Resource


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


def start_budget() -> None:
    """Start the time budget of one TAB: every live lookup from now on shares it."""
    global _deadline, _abandoned
    _deadline = time.monotonic() + _budget()
    _abandoned = False


def abandoned() -> bool:
    """True when a lookup outlived the budget (its thread may still be stuck in DNS or a dead socket)."""
    return _abandoned


# --- completers commands attach with shell_complete= ----------------------------------------------

def choices(*values: str) -> Completer:
    """Fixed values, for options that take a word but are not a click.Choice (e.g. `--link gke`)."""

    def complete_choices(ctx: "click.Context", param: "click.Parameter", incomplete: str) -> list["CompletionItem"]:
        return items_of((v, "") for v in values if v.startswith(incomplete))

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
            return items_of((f"{raw_type}/{name}", help_) for name, help_ in names
                          if name.startswith(partial) and f"{raw_type}/{name}" not in given)
        prefixes = [(f"{t}/", TYPE_PREFIX_HELP.get(t, "")) for t in types if f"{t}/".startswith(incomplete)]
        names = _live(ctx, lambda kube: _object_names(kube, ctx, RAY_RESOURCES[default])) if default in types else []
        return items_of([*((n, h) for n, h in names if n.startswith(incomplete) and n not in given), *prefixes])

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

        return items_of((n, h) for n, h in _live(ctx, fetch) if n.startswith(incomplete))

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

        return items_of((n, h) for n, h in _live(ctx, fetch) if n.startswith(incomplete))

    return complete_nodes


def namespaces() -> Completer:
    """Namespaces of the cluster (for -n/--namespace)."""
    def complete_namespaces(ctx: "click.Context", param: "click.Parameter", incomplete: str) -> list["CompletionItem"]:
        from kubectl_ray.kube.resources import NAMESPACES

        def fetch(kube: "KubeClient") -> Pairs:
            page = next(kube.list_pages(NAMESPACES, page_size=LIST_LIMIT), [])
            return [(ns["metadata"]["name"], "") for ns in page]

        return items_of((n, h) for n, h in _live(ctx, fetch) if n.startswith(incomplete))

    return complete_namespaces


def kubeconfig_entries(section: str) -> Completer:
    """Names of the kubeconfig's `contexts`, `clusters` or `users` (no network), as kubectl merges the files."""

    def complete_entries(ctx: "click.Context", param: "click.Parameter", incomplete: str) -> list["CompletionItem"]:
        try:
            from kubectl_ray.kube.kubeconfig import kubeconfig_paths, load_merged

            paths, explicit = kubeconfig_paths(connection_flags(ctx))
            merged = load_merged(paths, explicit)
        except Exception:  # noqa: BLE001 - a broken kubeconfig offers nothing
            debug_traceback()
            return []
        return items_of((name, _describe_entry(section, body)) for name, body in sorted(merged[section].items())
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
# --- the API lookups behind them ------------------------------------------------------------------

def connection_flags(ctx: "click.Context") -> "ConnectionFlags":
    """The connection flags typed anywhere on the line; later (inner) ones win, as when the command runs."""
    from kubectl_ray.env import flags_from_kwargs
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
            debug_traceback()
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
        return items_of((n, h) for n, h in pairs if n.startswith(incomplete) and n not in given)

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
    from kubectl_ray.parsing import resource_type

    return resource_type(raw) or raw.lower()


def items_of(pairs: Iterable[tuple[str, str]]) -> list["CompletionItem"]:
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


def debug_traceback() -> None:
    if os.environ.get("KUBECTL_RAY_DEBUG"):
        import traceback

        traceback.print_exc(file=sys.stderr)
