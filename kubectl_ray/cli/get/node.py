"""`get node`: Ray nodes, the pods labelled ray.io/is-ray-node=yes."""

from __future__ import annotations


import click

from kubectl_ray import names
from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlCommand, examples, kube_command
from kubectl_ray.cli.get.listing import combine_selectors, emit, list_options, list_options_from, pages_of, \
    require_name, scope
from kubectl_ray.env import CommandEnv


@click.command("node", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
               short_help="Show Ray nodes (head and worker pods)", epilog=examples(
    "# Ray nodes (head and worker pods) in the current namespace",
    "kubectl ray get node",
    "",
    "# Nodes of one cluster, with pod status, IP and Kubernetes node",
    "kubectl ray get nodes -c my-cluster -o wide",
))
@click.argument("node", required=False, shell_complete=names.ray_nodes(cluster_param="ray_cluster"))
@click.option("-c", "--ray-cluster", "ray_cluster", default=None, metavar="RAYCLUSTER",
              help="Only the nodes of this Ray cluster.")
@list_options
@kube_command
def get_node(env: CommandEnv, node: str | None, ray_cluster: str | None, output: str | None, selector: str | None,
             all_namespaces: bool, no_headers: bool) -> None:
    """Show Ray nodes: the pods labelled ray.io/is-ray-node=yes, with the Ray container's resources.

    -l adds a pod label query to that selection.
    """
    from kubectl_ray.kube.resources import PODS
    from kubectl_ray.resources.tables import CLUSTER_LABEL, IS_RAY_NODE_LABEL, NODE_TABLE, node_row

    opts = list_options_from(output, selector, all_namespaces, no_headers)
    require_name("Ray node", node)
    require_name("Ray cluster", ray_cluster)
    label = combine_selectors(f"{IS_RAY_NODE_LABEL}=yes", f"{CLUSTER_LABEL}={ray_cluster}" if ray_cluster else None,
                               opts.selector)
    pages = pages_of(env, PODS, opts, label_selector=label,
                      field_selector=f"metadata.name={node}" if node is not None else None)
    where = f" in Ray cluster {ray_cluster}" if ray_cluster else " in any Ray cluster"
    emit(env, pages, NODE_TABLE, node_row, opts, single=node is not None and not opts.all_namespaces,
         not_found=f"Ray node {node} not found in {scope(env, opts)}{where}" if node is not None else None)
