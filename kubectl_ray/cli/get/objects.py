"""`get cluster`, `get job` (also `job list`) and `get service`: one table row per Ray object.

Names work as in kubectl get: none (a list), one or several (`get cluster a b`, `get raycluster/a`);
a missing one is kubectl's NotFound line on stderr (saying which other Ray kind has that name),
printed after the objects that were found, and the exit code is 1.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from kubectl_ray import names
from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlCommand, examples, kube_command
from kubectl_ray.cli.get.listing import ListOptions, View, WatchTarget, list_options, list_options_from, pages_of, \
    require_name, show
from kubectl_ray.env import CommandEnv
from kubectl_ray.errors import KubectlRayError, UsageError

if TYPE_CHECKING:
    from kubectl_ray.kube.resources import Resource

NAMES_METAVAR = "[NAME | TYPE/NAME]..."


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


def _view(type_: str) -> View:
    from kubectl_ray.resources import tables

    spec, row_of = {"raycluster": (tables.CLUSTER_TABLE, tables.cluster_row),
                    "rayjob": (tables.JOB_TABLE, tables.job_row),
                    "rayservice": (tables.SERVICE_TABLE, tables.service_row)}[type_]
    return View(spec, row_of)


@click.command("cluster", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
               short_help="Show Ray clusters", epilog=examples(
    "# Ray clusters in the current namespace",
    "kubectl ray get cluster",
    "",
    "# One cluster, with the head pod and service IPs (kubectl's names work too: rayclusters, raycluster/NAME)",
    "kubectl ray get cluster my-cluster -o wide",
    "kubectl ray get raycluster/my-cluster",
    "",
    "# Every cluster labelled team=ml, in all namespaces, with their team label, newest last",
    "kubectl ray get clusters -A -l team=ml -L team --sort-by .metadata.creationTimestamp",
    "",
    "# Names and Ray versions, as kubectl's JSONPath; or your own columns",
    "kubectl ray get clusters -o jsonpath='{range .items[*]}{.metadata.name} {.spec.rayVersion}{\"\\n\"}{end}'",
    "kubectl ray get clusters -o custom-columns=NAME:.metadata.name,RAY:.spec.rayVersion",
    "",
    "# Watch: a row each time a cluster changes",
    "kubectl ray get clusters -w",
))
@click.argument("targets", nargs=-1, metavar=NAMES_METAVAR, shell_complete=names.ray_clusters())
@list_options
@kube_command
def get_cluster(env: CommandEnv, targets: tuple[str, ...], **flags: Any) -> None:
    """Show Ray clusters: desired/available workers, total CPUs/GPUs/TPUs/memory, condition and state.

    Unlike upstream, the NAMESPACE column appears (first, as in kubectl) only with -A.
    """
    get_objects(env, "raycluster", targets, list_options_from(flags), _view("raycluster"))


@click.command("job", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
               short_help="Show RayJobs", epilog=examples(
    "# RayJobs in the current namespace",
    "kubectl ray get job",
    "",
    "# One RayJob with its end time, submission mode and message",
    "kubectl ray get job my-job -o wide",
    "",
    "# Every RayJob in all namespaces, names only",
    "kubectl ray get jobs -A -o name",
))
@click.argument("targets", nargs=-1, metavar=NAMES_METAVAR, shell_complete=names.ray_jobs())
@list_options
@kube_command
def get_job(env: CommandEnv, targets: tuple[str, ...], **flags: Any) -> None:
    """Show RayJobs: job ID, job and deployment status, cluster, start time and how long they ran.

    END/DURATION is the time from start to end, or to now while the job runs.
    """
    get_objects(env, "rayjob", targets, list_options_from(flags), _view("rayjob"))


@click.command("service", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
               short_help="Show RayServices", epilog=examples(
    "# RayServices in the current namespace",
    "kubectl ray get service",
    "",
    "# With the number of serve endpoints and the Ready condition's reason",
    "kubectl ray get services -o wide",
))
@click.argument("targets", nargs=-1, metavar=NAMES_METAVAR, shell_complete=names.ray_services())
@list_options
@kube_command
def get_service(env: CommandEnv, targets: tuple[str, ...], **flags: Any) -> None:
    """Show RayServices: Ready condition (or serviceStatus on old operators), active and pending cluster."""
    get_objects(env, "rayservice", targets, list_options_from(flags), _view("rayservice"))
