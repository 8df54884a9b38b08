"""`get cluster`, `get job` (also `job list`) and `get service`: one table row per Ray object."""

from __future__ import annotations


import click

from kubectl_ray import names
from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlCommand, examples, kube_command
from kubectl_ray.cli.get.listing import emit, list_options, list_options_from, named_or_listed, require_name, scope
from kubectl_ray.env import CommandEnv


@click.command("cluster", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
               short_help="Show Ray clusters", epilog=examples(
    "# Ray clusters in the current namespace",
    "kubectl ray get cluster",
    "",
    "# One cluster, with the head pod and service IPs",
    "kubectl ray get cluster my-cluster -o wide",
    "",
    "# Every cluster labelled team=ml, in all namespaces",
    "kubectl ray get clusters -A -l team=ml",
    "",
    "# As YAML",
    "kubectl ray get cluster my-cluster -o yaml",
))
@click.argument("name", required=False, shell_complete=names.ray_clusters())
@list_options
@kube_command
def get_cluster(env: CommandEnv, name: str | None, output: str | None, selector: str | None, all_namespaces: bool,
                no_headers: bool) -> None:
    """Show Ray clusters: desired/available workers, total CPUs/GPUs/TPUs/memory, condition and state.

    Unlike upstream, the NAMESPACE column appears (first, as in kubectl) only with -A.
    """
    from kubectl_ray.kube.resources import RAYCLUSTERS
    from kubectl_ray.resources.tables import CLUSTER_TABLE, cluster_row

    opts = list_options_from(output, selector, all_namespaces, no_headers)
    require_name("Ray cluster", name)
    pages, named = named_or_listed(env, RAYCLUSTERS, name, opts)
    emit(env, pages, CLUSTER_TABLE, cluster_row, opts, single=named and not opts.all_namespaces,
         not_found=f"Ray cluster {name} not found in {scope(env, opts)}" if named else None)


@click.command("job", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
               short_help="Show RayJobs", epilog=examples(
    "# RayJobs in the current namespace (same as: kubectl ray job list)",
    "kubectl ray get job",
    "",
    "# One RayJob with its end time, submission mode and message",
    "kubectl ray get job my-job -o wide",
    "",
    "# Every RayJob in all namespaces, names only",
    "kubectl ray get jobs -A -o name",
))
@click.argument("name", required=False, shell_complete=names.ray_jobs())
@list_options
@kube_command
def get_job(env: CommandEnv, name: str | None, output: str | None, selector: str | None, all_namespaces: bool,
            no_headers: bool) -> None:
    """Show RayJobs: job ID, job and deployment status, cluster, start time and how long they ran.

    END/DURATION is the time from start to end, or to now while the job runs. This command is
    also `kubectl ray job list`: it does not depend on being under `get`.
    """
    from kubectl_ray.kube.resources import RAYJOBS
    from kubectl_ray.resources.tables import JOB_TABLE, job_row

    opts = list_options_from(output, selector, all_namespaces, no_headers)
    require_name("Ray job", name)
    pages, named = named_or_listed(env, RAYJOBS, name, opts)
    emit(env, pages, JOB_TABLE, job_row, opts, single=named and not opts.all_namespaces,
         not_found=f"Ray job {name} not found in {scope(env, opts)}" if named else None)


@click.command("service", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
               short_help="Show RayServices", epilog=examples(
    "# RayServices in the current namespace",
    "kubectl ray get service",
    "",
    "# With the number of serve endpoints and the Ready condition's reason",
    "kubectl ray get services -o wide",
))
@click.argument("name", required=False, shell_complete=names.ray_services())
@list_options
@kube_command
def get_service(env: CommandEnv, name: str | None, output: str | None, selector: str | None, all_namespaces: bool,
                no_headers: bool) -> None:
    """Show RayServices: Ready condition (or serviceStatus on old operators), active and pending cluster."""
    from kubectl_ray.kube.resources import RAYSERVICES
    from kubectl_ray.resources.tables import SERVICE_TABLE, service_row

    opts = list_options_from(output, selector, all_namespaces, no_headers)
    require_name("Ray service", name)
    pages, named = named_or_listed(env, RAYSERVICES, name, opts)
    emit(env, pages, SERVICE_TABLE, service_row, opts, single=named and not opts.all_namespaces,
         not_found=f"Ray service {name} not found in {scope(env, opts)}" if named else None)
