"""`get cluster|job|service` without click: get's TYPE names and the body the click commands and the fast
path (cli/fast.py) both run.

Names work as in kubectl get: none (a list), one or several (`get cluster a b`, `get raycluster/a`);
a missing one is kubectl's NotFound line on stderr (saying which other Ray kind has that name),
printed after the objects that were found, and the exit code is 1.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from kubectl_ray.cli.get.listing import ListOptions, View, WatchTarget, pages_of, require_name, show
from kubectl_ray.env import CommandEnv
from kubectl_ray.errors import KubectlRayError, UsageError

if TYPE_CHECKING:
    from kubectl_ray.kube.resources import Resource

# The plugin's own names (upstream's `get cluster`), their plurals, and every name kubectl gives the Ray
# kinds (raycluster, rayclusters, RayCluster, rayclusters.ray.io, rayclusters.v1.ray.io, ...).
PLUGIN_ALIASES = {"clusters": "cluster", "workergroups": "workergroup", "nodes": "node", "jobs": "job",
                  "services": "service", "tokens": "token"}
KIND_COMMANDS = {"raycluster": "cluster", "rayjob": "job", "rayservice": "service"}
OBJECT_TYPES = {"cluster": "raycluster", "job": "rayjob", "service": "rayservice"}  # subcommands of get_objects


def subcommand_name(typed: str) -> str:
    """`get TYPE`: the subcommand TYPE names (raycluster, RayClusters, clusters -> cluster)."""
    from kubectl_ray.parsing import resource_type

    kind = resource_type(typed)
    return KIND_COMMANDS[kind] if kind else PLUGIN_ALIASES.get(typed.lower(), typed.lower())


def get_objects(env: CommandEnv, type_: str, args: tuple[str, ...], opts: ListOptions, view: View) -> None:
    """The shared body: list, or GET each name (kubectl's NotFound for the missing ones)."""
    from kubectl_ray.kube.resources import RAY_RESOURCES
    from kubectl_ray.parsing import parse_resource_ref

    res = RAY_RESOURCES[type_]
    refs = [parse_resource_ref(arg, default_type=type_, allowed=(type_,)) for arg in args]
    for ref in refs:
        require_name(res.kind, ref.name)
    if refs and opts.selector:
        raise UsageError("name cannot be provided when a selector is specified")
    if opts.watch and len(refs) > 1:
        raise UsageError("watch is only supported on individual resources and resource collections - more than 1 "
                         "resource was found")
    name = refs[0].name if len(refs) == 1 else None
    watch = WatchTarget(res, name=name, label_selector=opts.selector)
    if not refs or opts.all_namespaces:
        pages = _listed(env, res, [r.name for r in refs], opts)
        show(env, view, opts, pages, single=False, watch=watch)
        return
    found, missing = _fetched(env, refs)
    if found:
        show(env, view, opts, [found], single=len(refs) == 1, watch=watch)
    for error in missing[:-1]:
        sys.stderr.write(error.render() + "\n")
    if missing:
        raise missing[-1]


def _listed(env: CommandEnv, res: "Resource", wanted: list[str], opts: ListOptions) -> Any:
    """A paginated list; names across namespaces (upstream's `get cluster NAME -A`) filter it."""
    from kubectl_ray.kube.targets import NotFound

    if not wanted:
        yield from pages_of(env, res, opts, label_selector=opts.selector)
        return
    for name in dict.fromkeys(wanted):
        pages = list(pages_of(env, res, opts, field_selector=f"metadata.name={name}"))
        if not any(pages):
            raise NotFound(res, name)
        yield from pages


def _fetched(env: CommandEnv, refs: list[Any]) -> tuple[list[dict[str, Any]], list[KubectlRayError]]:
    from kubectl_ray.kube.targets import NotFound, get_object

    found, missing = [], []
    for ref in dict.fromkeys(refs):
        try:
            found.append(get_object(env.kube(), ref, env.namespace))
        except NotFound as exc:
            missing.append(exc)
    return found, missing


def object_view(type_: str) -> View:
    from kubectl_ray.resources import tables

    spec, row_of = {"raycluster": (tables.CLUSTER_TABLE, tables.cluster_row),
                    "rayjob": (tables.JOB_TABLE, tables.job_row),
                    "rayservice": (tables.SERVICE_TABLE, tables.service_row)}[type_]
    return View(spec, row_of)
