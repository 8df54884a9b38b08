"""`get workergroup`: min/max, ready/desired replicas and resources of each worker group."""

from __future__ import annotations

from typing import Any

import click

from kubectl_ray import names
from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlCommand, examples, kube_command
from kubectl_ray.cli.get.listing import ListOptions, View, cluster_option, combine_selectors, list_options, \
    list_options_from, pages_of, require_name, resolve_cluster_flag, show
from kubectl_ray.env import CommandEnv
from kubectl_ray.errors import KubectlRayError


@click.command("workergroup", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
               short_help="Show the worker groups of Ray clusters", epilog=examples(
    "# Worker groups of every Ray cluster in the current namespace",
    "kubectl ray get workergroup",
    "",
    "# Worker groups of one cluster",
    "kubectl ray get workergroup -c my-cluster",
    "",
    "# One group, in whichever cluster of any namespace has it",
    "kubectl ray get workergroup gpu-group -A",
))
@click.argument("group", required=False, shell_complete=names.worker_groups(cluster_param="ray_cluster"))
@cluster_option("worker groups")
@list_options
@kube_command
def get_workergroup(env: CommandEnv, group: str | None, ray_cluster: str | None, **flags: Any) -> None:
    """Show worker groups: min/max, ready/desired replicas and the resources the group asks for.

    REPLICAS is ready pods / desired pods (replicas x numOfHosts). Totals count every container of
    the pod template (requests, else limits) times that number of pods; suspended groups count zero.
    -l selects the RayClusters by label.
    """
    from kubectl_ray.kube.resources import RAYCLUSTERS
    from kubectl_ray.resources import tables
    from kubectl_ray.shapes import name_of, namespace_of, text

    opts = list_options_from(flags)
    require_name("worker group", group)
    cluster = resolve_cluster_flag(env, ray_cluster, opts)
    field = f"metadata.name={cluster.name}" if cluster is not None else None
    groups: list[tuple[str, str, dict[str, Any]]] = []  # (namespace, cluster, group spec)
    for page in pages_of(env, RAYCLUSTERS, opts, label_selector=opts.selector, field_selector=field):
        for obj in page:
            for spec in tables.worker_groups(obj, group):
                groups.append((namespace_of(obj), name_of(obj), spec))
    if group is not None and not groups:
        where = f'RayCluster "{cluster.name}"' if cluster else "any RayCluster"
        raise KubectlRayError(f'worker group "{group}" not found in {where}')
    ready = _ready_workers(env, opts, cluster.name if cluster else None, group) if groups else {}
    objs = [tables.worker_group_object(ns, name, spec, ready.get((ns, name, text(spec, "groupName")), 0))
            for ns, name, spec in groups]
    view = View(tables.WORKER_GROUP_TABLE, tables.worker_group_object_row,
                name_of=lambda o: f"workergroup/{o['cluster']}/{o['name']}")
    show(env, view, opts, [objs])


def _ready_workers(env: CommandEnv, opts: ListOptions, ray_cluster: str | None,
                   group: str | None) -> dict[tuple[str, str, str], int]:
    """Ready worker pods per (namespace, cluster, group): ONE paginated list for the whole scope."""
    from kubectl_ray.kube.resources import PODS
    from kubectl_ray.resources.tables import CLUSTER_LABEL, GROUP_LABEL, NODE_TYPE_LABEL, count_ready_workers

    selector = combine_selectors(f"{NODE_TYPE_LABEL}=worker",
                                 f"{CLUSTER_LABEL}={ray_cluster}" if ray_cluster else None,
                                 f"{GROUP_LABEL}={group}" if group else None)
    counts: dict[tuple[str, str, str], int] = {}
    for page in pages_of(env, PODS, opts, label_selector=selector):
        count_ready_workers(page, counts)
    return counts
