"""`kubectl ray get cluster|workergroup|node|job|service|token`: kubectl-style tables and output formats.

Shared flags and printers are in listing.py; `get workergroup` lists worker pods once per call (not
once per group, as upstream did) and counts them in memory.
"""

from __future__ import annotations

import click

from kubectl_ray.cli.common import KubectlGroup, examples, kube_group
from kubectl_ray.cli.get.node import get_node
from kubectl_ray.cli.get.objects import get_cluster, get_job, get_service
from kubectl_ray.cli.get.token import get_token
from kubectl_ray.cli.get.workergroup import get_workergroup

__all__ = ["get", "get_cluster", "get_job", "get_node", "get_service", "get_token", "get_workergroup"]


@click.group("get", cls=KubectlGroup, no_args_is_help=True, invoke_without_command=True, aliases={
    "clusters": "cluster", "raycluster": "cluster", "rayclusters": "cluster",
    "workergroups": "workergroup",
    "nodes": "node",
    "jobs": "job", "rayjob": "job", "rayjobs": "job",
    "services": "service", "rayservice": "service", "rayservices": "service",
    "tokens": "token",
}, epilog=examples(
    "# Ray clusters in the current namespace, then in every namespace",
    "kubectl ray get cluster",
    "kubectl ray get clusters -A",
    "",
    "# Worker groups of one cluster, with min/max and ready replicas",
    "kubectl ray get workergroup -c my-cluster",
), short_help="Show Ray clusters, worker groups, nodes, jobs, services, tokens")
@kube_group
def get() -> None:
    """Display one or many Ray resources as kubectl-style tables (or json, yaml, name)."""


for _command in (get_cluster, get_workergroup, get_node, get_job, get_service, get_token):
    get.add_command(_command)
