"""`get cluster`, `get job` (also `job list`) and `get service`: one table row per Ray object.

Names work as in kubectl get: none (a list), one or several (`get cluster a b`, `get raycluster/a`);
a missing one is kubectl's NotFound line on stderr (saying which other Ray kind has that name),
printed after the objects that were found, and the exit code is 1.
"""

from __future__ import annotations

from typing import Any

import click

from kubectl_ray import names
from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlCommand, examples, kube_command
from kubectl_ray.cli.get.listing import list_options, list_options_from
from kubectl_ray.cli.get.ray_objects import get_objects, object_view
from kubectl_ray.env import CommandEnv

NAMES_METAVAR = "[NAME | TYPE/NAME]..."


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
    get_objects(env, "raycluster", targets, list_options_from(flags), object_view("raycluster"))


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
    get_objects(env, "rayjob", targets, list_options_from(flags), object_view("rayjob"))


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
    get_objects(env, "rayservice", targets, list_options_from(flags), object_view("rayservice"))
