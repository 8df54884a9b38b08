"""`kubectl ray create workergroup`: append a worker group to an existing RayCluster (GET, append, PUT with
its resourceVersion; read again on 409 Conflict)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import click

from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlCommand, examples, kube_command, reject_empty_quantities
from kubectl_ray.cli.create.common import output_option, parse_env, print_object, worker_group_from_flags
from kubectl_ray.cli.dryrun import dry_run_option, parse_dry_run
from kubectl_ray.cli.grammar import INT32
from kubectl_ray.env import CommandEnv
from kubectl_ray.errors import KubectlRayError, UsageError
from kubectl_ray.resources.cluster import (
    FLAG_NAMES, WorkerGroupOptions, build_worker_group, validate_worker_group, worker_group_names,
    worker_image_for_cluster,
)

if TYPE_CHECKING:
    from kubectl_ray.kube.client import KubeClient

CONFLICT_RETRIES = 5
WORKERGROUP_DEFAULT_MIN = 1  # upstream create workergroup's defaults
WORKERGROUP_DEFAULT_MAX = 10

WORKERGROUP_EXAMPLES = examples(
    "# Add a group of 2 CPU workers (between 1 and 10, upstream's defaults) to the RayCluster demo",
    "kubectl ray create workergroup cpu-group -c demo",
    "",
    "# NVIDIA GPU workers with the nvidia runtime class, tolerating the GPU taint",
    "kubectl ray create workergroup gpu -c demo --worker-gpu 1 --worker-replicas 2 \\",
    "    --worker-runtime-class-name nvidia --worker-tolerations nvidia.com/gpu=present:NoSchedule",
    "",
    "# Huawei Ascend NPU workers that also advertise the Ray custom resource NPU",
    "kubectl ray create workergroup npu -c demo --worker-resources huawei.com/Ascend910B=1 \\",
    "    --worker-ray-resources '{\"NPU\": 1}' --worker-tolerations huawei.com/Ascend910B:NoSchedule",
    "",
    "# A single-host TPU v6e group on GKE",
    "kubectl ray create workergroup tpu -c demo --worker-tpu 4 \\",
    "    --worker-node-selectors cloud.google.com/gke-tpu-accelerator=tpu-v6e-slice,cloud.google.com/gke-tpu-topology=2x2",
    "",
    "# Show the updated RayCluster without changing it",
    "kubectl ray create workergroup extra -c demo --dry-run",
)


@click.command("workergroup", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS, epilog=WORKERGROUP_EXAMPLES,
                short_help="Add a worker group to an existing RayCluster")
@click.argument("group_name", metavar="WORKERGROUP")
@click.option("-c", "--ray-cluster", "ray_cluster", required=True, help="The RayCluster to add the group to.")
@click.option("--ray-version", default=None, help="Ray version of the group's image rayproject/ray:<version> [default: the head's image].")
@click.option("--image", default=None, help="Image of the workers [default: the head container's image].")
@click.option("--worker-replicas", type=INT32, default=1, show_default=True, help="Replicas of the group.")
@click.option("--worker-min-replicas", type=INT32, default=WORKERGROUP_DEFAULT_MIN, show_default=True, help="minReplicas of the group.")
@click.option("--worker-max-replicas", type=INT32, default=WORKERGROUP_DEFAULT_MAX, show_default=True, help="maxReplicas of the group.")
@click.option("--num-of-hosts", type=INT32, default=1, show_default=True, help="Hosts per replica (multi-host TPU slices).")
@click.option("--worker-cpu", default="2", show_default=True, help="CPU request (no CPU limit, as create cluster).")
@click.option("--worker-memory", default="4Gi", show_default=True, help="Memory request and limit.")
@click.option("--worker-gpu", default="0", show_default=True, help="nvidia.com/gpu request and limit.")
@click.option("--worker-tpu", default="0", show_default=True, help="google.com/tpu request and limit; needs the two GKE TPU node selectors.")
@click.option("--worker-ephemeral-storage", default="", help="ephemeral-storage request and limit.")
@click.option("--worker-ray-start-params", multiple=True, metavar="K=V,...", help="rayStartParams of the workers.")
@click.option("--worker-node-selectors", multiple=True, metavar="K=V,...", help="nodeSelector of the worker pods.")
@click.option("--worker-runtime-class-name", default=None, help="runtimeClassName of the worker pods (e.g. nvidia).")
@click.option("--worker-tolerations", multiple=True, metavar="TAINTS", help="Tolerations in taint syntax: key=value:Effect, key:Effect, comma-separated.")
@click.option("--worker-resources", multiple=True, metavar="NAME=QTY,...", help="Extended resources (request = limit), e.g. amd.com/gpu=1.")
@click.option("--worker-ray-resources", default=None, metavar="JSON", help='Ray custom resources as JSON, e.g. \'{"NPU": 1}\'.')
@click.option("--env", "env_vars", multiple=True, metavar="KEY=VALUE", help="Environment variable of the workers (repeatable).")
@dry_run_option("client: read the RayCluster and print it with the new group, write nothing; server: send the update "
                "with dryRun=All (nothing is stored); none: update it.")
@output_option
@kube_command
def create_workergroup(env: CommandEnv, group_name: str, ray_cluster: str, ray_version: str | None,
                       image: str | None, dry_run: str, output: str | None, **flags: Any) -> None:
    """Add worker group WORKERGROUP to an existing RayCluster.

    The cluster is read, the group appended and the object replaced with its resourceVersion; if
    someone else changed the cluster in between (409 Conflict) it is read again, up to 5 times.
    Workers run the head's image unless --image or --ray-version says otherwise.
    """
    from kubectl_ray.parsing import parse_resource_ref

    reject_empty_quantities(click.get_current_context(), flags)
    ray_cluster = parse_resource_ref(ray_cluster, allowed=("raycluster",)).name
    mode = parse_dry_run(dry_run)
    group = worker_group_from_flags(flags, group_name)
    group.env = parse_env("--env", flags["env_vars"])
    validate_worker_group(group, lambda field: FLAG_NAMES.worker(0, field))
    for flag, value in (("--ray-version", ray_version), ("--image", image)):
        if value is not None and (not value.strip() or any(c.isspace() for c in value)):
            raise UsageError(f"invalid {flag} {value!r}: must be non-empty and without spaces")
    kube = env.kube()
    namespace = env.namespace
    updated = add_worker_group(kube, ray_cluster, namespace, group, image=image, ray_version=ray_version, mode=mode)
    if mode != "none":
        print_object(updated, output or "yaml")
    elif output:
        print_object(updated, output)
    else:
        click.echo(f"raycluster.ray.io/{ray_cluster} updated (added worker group {group_name})")


def add_worker_group(kube: "KubeClient", cluster_name: str, namespace: str, group: WorkerGroupOptions, *,
                     image: str | None, ray_version: str | None, mode: str = "none") -> dict[str, Any]:
    """GET -> append -> PUT with resourceVersion; on 409 read again (at most CONFLICT_RETRIES times)."""
    from kubectl_ray.kube.errors import ApiError
    from kubectl_ray.kube.resources import RAYCLUSTERS
    from kubectl_ray.kube.targets import get_object
    from kubectl_ray.parsing import ResourceRef
    from kubectl_ray.printing import warn
    from kubectl_ray.shapes import check_depth, mapping, required_array, text

    warned = False
    for _attempt in range(CONFLICT_RETRIES):
        cluster = get_object(kube, ResourceRef("raycluster", cluster_name), namespace)
        existing = worker_group_names(cluster)
        if group.name in existing:
            raise KubectlRayError(f'worker group "{group.name}" already exists in RayCluster "{cluster_name}" '
                                  f'(existing groups: {", ".join(existing)})')
        cluster_version = text(cluster, "spec", "rayVersion")
        if ray_version and cluster_version and ray_version != cluster_version and not warned:
            warn(f'--ray-version {ray_version} differs from RayCluster "{cluster_name}"\'s rayVersion {cluster_version}: '
                 "Ray needs the same version on the head and every worker")
            warned = True
        groups = required_array(cluster, ("spec", "workerGroupSpecs"), f'RayCluster "{cluster_name}"')
        check_depth(cluster, f'RayCluster "{cluster_name}"')  # before the recursive copy
        updated = copy.deepcopy(cluster)
        spec = updated["spec"] = dict(mapping(updated, "spec"))
        spec["workerGroupSpecs"] = list(groups) + [
            build_worker_group(group, worker_image_for_cluster(cluster, image, ray_version), always_ray_start_params=True)]
        if mode == "client":
            return updated
        try:
            return kube.replace(RAYCLUSTERS, updated, namespace, dry_run=mode == "server")
        except ApiError as exc:
            if exc.status != 409:
                raise
    raise KubectlRayError(f'could not add worker group "{group.name}": RayCluster "{cluster_name}" changed under us '
                          f"{CONFLICT_RETRIES} times in a row (409 Conflict); try again")
