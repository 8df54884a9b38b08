"""`get workergroup`: min/max, ready/desired replicas and resources of each worker group."""

from __future__ import annotations

from typing import Any

import click

from kubectl_ray import names
from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlCommand, examples, kube_command
from kubectl_ray.cli.get.listing import ListOptions, combine_selectors, list_options, list_options_from, pages_of, \
    print_documents, print_table, require_name, scope
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
@click.option("-c", "--ray-cluster", "ray_cluster", default=None, metavar="RAYCLUSTER",
              help="Only the worker groups of this Ray cluster.")
@list_options
@kube_command
def get_workergroup(env: CommandEnv, group: str | None, ray_cluster: str | None, output: str | None,
                    selector: str | None, all_namespaces: bool, no_headers: bool) -> None:
    """Show worker groups: min/max, ready/desired replicas and the resources the group asks for.

    REPLICAS is ready pods / desired pods (replicas x numOfHosts). Totals count every container of
    the pod template (requests, else limits) times that number of pods; suspended groups count zero.
    -l selects the RayClusters by label.
    """
    from kubectl_ray.kube.resources import RAYCLUSTERS
    from kubectl_ray.resources import tables

    opts = list_options_from(output, selector, all_namespaces, no_headers)
    require_name("worker group", group)
    require_name("Ray cluster", ray_cluster)
    field = f"metadata.name={ray_cluster}" if ray_cluster is not None else None
    found_cluster = False
    groups: list[tuple[str, str, dict[str, Any]]] = []  # (namespace, cluster, group spec)
    for page in pages_of(env, RAYCLUSTERS, opts, label_selector=opts.selector, field_selector=field):
        for cluster in page:
            found_cluster = True
            meta = cluster.get("metadata") or {}
            for spec in tables.worker_groups(cluster, group):
                groups.append((meta.get("namespace", ""), meta.get("name", ""), spec))
    if ray_cluster is not None and not found_cluster:
        raise KubectlRayError(f"Ray cluster {ray_cluster} not found in {scope(env, opts)}")
    if group is not None and not groups:
        where = f" in Ray cluster {ray_cluster}" if ray_cluster else " in any Ray cluster"
        raise KubectlRayError(f"Ray worker group {group} not found in {scope(env, opts)}{where}")
    ready = _ready_workers(env, opts, ray_cluster, group) if groups else {}
    counts = [ready.get((ns, cluster, spec.get("groupName", "")), 0) for ns, cluster, spec in groups]
    if opts.is_table:
        rows = [tables.worker_group_row(ns, cluster, spec, n) for (ns, cluster, spec), n in zip(groups, counts)]
        print_table(env, tables.WORKER_GROUP_TABLE, rows, opts)
        return
    objs = [tables.worker_group_object(ns, cluster, spec, n) for (ns, cluster, spec), n in zip(groups, counts)]
    print_documents(env, objs, opts, single=False, name_of=lambda o: f"workergroup/{o['cluster']}/{o['name']}")


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
