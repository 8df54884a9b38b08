"""`get node`: Ray nodes, the pods labelled ray.io/is-ray-node=yes."""

from __future__ import annotations

from typing import Any

import click

from kubectl_ray import names
from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlCommand, examples, kube_command
from kubectl_ray.cli.get.listing import View, WatchTarget, cluster_option, combine_selectors, list_options, \
    list_options_from, pages_of, require_name, resolve_cluster_flag, show
from kubectl_ray.env import CommandEnv


@click.command("node", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
               short_help="Show Ray nodes (head and worker pods)", epilog=examples(
    "# Ray nodes (head and worker pods) in the current namespace",
    "kubectl ray get node",
    "",
    "# Nodes of one cluster, with pod status, IP and Kubernetes node",
    "kubectl ray get nodes -c my-cluster -o wide",
    "",
    "# Watch the nodes of one cluster come and go",
    "kubectl ray get nodes -c my-cluster -w",
))
@click.argument("node", required=False, shell_complete=names.ray_nodes(cluster_param="ray_cluster"))
@cluster_option("nodes")
@list_options
@kube_command
def get_node(env: CommandEnv, node: str | None, ray_cluster: str | None, **flags: Any) -> None:
    """Show Ray nodes: the pods labelled ray.io/is-ray-node=yes, with the Ray container's resources.

    -l adds a pod label query to that selection.
    """
    from kubectl_ray.kube.resources import PODS
    from kubectl_ray.kube.targets import NotFound
    from kubectl_ray.resources.tables import CLUSTER_LABEL, IS_RAY_NODE_LABEL, NODE_TABLE, node_row

    opts = list_options_from(flags)
    require_name("Ray node", node)
    cluster = resolve_cluster_flag(env, ray_cluster, opts)
    label = combine_selectors(f"{IS_RAY_NODE_LABEL}=yes", f"{CLUSTER_LABEL}={cluster.name}" if cluster else None,
                              opts.selector)
    pages: Any = pages_of(env, PODS, opts, label_selector=label,
                          field_selector=f"metadata.name={node}" if node is not None else None)
    if node is not None:
        pages = list(pages)
        if not any(pages):
            raise NotFound(PODS, node)
    show(env, View(NODE_TABLE, node_row), opts, pages, single=node is not None and not opts.all_namespaces,
         watch=WatchTarget(PODS, name=node, label_selector=label))
