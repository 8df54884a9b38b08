"""`kubectl ray scale cluster NAME -w GROUP [-r N] [--min-replicas N] [--max-replicas N]`.

Read-modify-replace: GET the RayCluster, change one worker group (resources/scaling.py), PUT it
back with the resourceVersion that was read. On 409 Conflict someone else wrote in between, so the
whole cycle starts again from a fresh GET, a bounded number of times.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kubectl_ray import names
from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlCommand, KubectlGroup, examples, kube_command, \
    kube_group
from kubectl_ray.cli.dryrun import CLIENT, SERVER, dry_run_option, dry_run_suffix, parse_dry_run
from kubectl_ray.cli.grammar import INT32
from kubectl_ray.env import CommandEnv
from kubectl_ray.errors import KubectlRayError, UsageError

if TYPE_CHECKING:
    from kubectl_ray.resources.scaling import ScaleRequest

MAX_ATTEMPTS = 5  # GET + PUT cycles before a persistent 409 is reported


@click.group("scale", cls=KubectlGroup, no_args_is_help=True, invoke_without_command=True,
             short_help="Scale a worker group of a RayCluster")
@kube_group
def scale() -> None:
    """Scale Ray resources."""


@scale.command("cluster", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS, epilog=examples(
    "# Set one worker group of a Ray cluster to 3 replicas",
    "kubectl ray scale cluster my-cluster -w my-group -r 3",
    "",
    "# Let the autoscaler move between 1 and 10 workers",
    "kubectl ray scale cluster my-cluster -w my-group --min-replicas 1 --max-replicas 10",
    "",
    "# Show the RayCluster as it would be written, without writing it",
    "kubectl ray scale cluster my-cluster -w my-group -r 0 --dry-run",
))
@click.argument("cluster_name", metavar="RAYCLUSTER", shell_complete=names.ray_clusters())
@click.option("-w", "--worker-group", "worker_group", default="", metavar="GROUP", help="The worker group to scale (required).")
@click.option("-r", "--replicas", type=INT32, default=-1, show_default=True,
              help="Desired number of replicas in the worker group (-1: leave as is).")
@click.option("--min-replicas", type=INT32, default=-1, show_default=True,
              help="Minimum number of replicas of the worker group (-1: leave as is).")
@click.option("--max-replicas", type=INT32, default=-1, show_default=True,
              help="Maximum number of replicas of the worker group (-1: leave as is).")
@dry_run_option("client: print the RayCluster as it would be written (YAML), write nothing; server: send the "
                "update with dryRun=All and print what the API server would store; none: update it.")
@kube_command
def scale_cluster(env: CommandEnv, cluster_name: str, worker_group: str, replicas: int, min_replicas: int,
                  max_replicas: int, dry_run: str) -> None:
    """Change replicas, minReplicas and maxReplicas of one worker group of a RayCluster.

    Only the named group changes; nothing is written when the group already has the requested
    values. With in-tree autoscaling enabled the autoscaler owns `replicas`: prefer
    --min-replicas/--max-replicas there.
    """
    from kubectl_ray.resources.scaling import ScaleRequest, validate_request

    mode = parse_dry_run(dry_run)
    request = ScaleRequest(worker_group, replicas, min_replicas, max_replicas)
    validate_request(request)
    if not cluster_name.strip():
        raise UsageError("Ray cluster name must not be empty")
    _scale(env, cluster_name, request, mode)


def _scale(env: CommandEnv, name: str, request: "ScaleRequest", mode: str) -> None:
    from kubectl_ray.kube.errors import ApiError
    from kubectl_ray.kube.resources import RAYCLUSTERS
    from kubectl_ray.kube.targets import NotFound, get_object
    from kubectl_ray.parsing import parse_resource_ref
    from kubectl_ray.resources.scaling import describe, scale_worker_group

    ref = parse_resource_ref(name, allowed=("raycluster",))
    name = ref.name
    kube, ns = env.kube(), env.namespace
    where = f"worker group {request.group} in Ray cluster {name} in namespace {ns}"
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            current = get_object(kube, ref, ns)
        except NotFound:
            raise
        except ApiError as exc:
            raise KubectlRayError(f"failed to scale {where}: {exc.detail()}") from None
        result = scale_worker_group(current, request)
        if attempt == 1:
            _warn_if_autoscaled(current, request)
        if not result.changed:
            click.echo(describe(current, request.group, []))
            return
        summary = describe(current, request.group, result.changes)
        if mode == CLIENT:
            _print_dry_run(env, result.cluster, summary, mode)
            return
        try:
            written = kube.replace(RAYCLUSTERS, result.cluster, ns, dry_run=mode == SERVER)
        except ApiError as exc:
            if exc.status == 409 and attempt < MAX_ATTEMPTS:
                continue  # someone wrote in between: read again and redo the change on their version
            tries = f" (gave up after {attempt} attempts)" if exc.status == 409 else ""
            raise KubectlRayError(f"failed to update {where}: {exc.detail()}{tries}") from None
        if mode == SERVER:
            _print_dry_run(env, written, summary, mode)
        else:
            click.echo(summary)
        return


def _print_dry_run(env: CommandEnv, cluster: dict, summary: str, mode: str) -> None:
    """The RayCluster as it would be stored on stdout (YAML); what would change on stderr."""
    from kubectl_ray.printing import info, to_yaml

    env.out.write(to_yaml(cluster))
    info(summary.replace("Updated ", "Would update ", 1) + dry_run_suffix(mode))


def _warn_if_autoscaled(cluster: dict, request: "ScaleRequest") -> None:
    from kubectl_ray.printing import warn
    from kubectl_ray.resources.scaling import autoscaling_enabled
    from kubectl_ray.shapes import name_of

    if autoscaling_enabled(cluster) and request.is_set(request.replicas):
        warn(f"Ray cluster {name_of(cluster)} has in-tree autoscaling enabled (spec.enableInTreeAutoscaling): "
             f"the Ray autoscaler owns the replicas of worker group {request.group} and may change them back; "
             "use --min-replicas/--max-replicas to bound it instead")
