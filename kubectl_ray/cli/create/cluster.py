"""`kubectl ray create cluster`: flags or --file -> ClusterOptions (Complete) -> validate_cluster_options
(Validate, before any request) -> pure builder -> API (Run) -> printer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import click

from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlCommand, examples, kube_command, reject_empty_quantities
from kubectl_ray.cli.create.common import output_option, parse_env, print_object, worker_group_from_flags
from kubectl_ray.cli.create.wait import wait_for_cluster
from kubectl_ray.cli.dryrun import dry_run_option, parse_dry_run
from kubectl_ray.cli.grammar import INT32
from kubectl_ray.env import CommandEnv
from kubectl_ray.errors import KubectlRayError, UsageError
from kubectl_ray.parsing import parse_duration, parse_key_values, parse_labels, parse_tolerations
from kubectl_ray.resources.cluster import (
    AUTOSCALER_VERSIONS, DEFAULT_IMAGE, DEFAULT_RAY_VERSION, FLAG_NAMES, HEAD_SERVICE_TYPES, UPSCALING_MODES,
    ClusterOptions, GcsFaultToleranceOptions, HeadOptions, OptionNames, build_raycluster, parse_ray_resources,
    parse_secret_ref, validate_cluster_options,
)

if TYPE_CHECKING:
    from kubectl_ray.kube.client import KubeClient

DEFAULT_TIMEOUT = "5m0s"
# create-cluster flags allowed together with --file (kubectl's connection flags are never checked)
FILE_COMPATIBLE = {"name", "file", "dry_run", "output", "wait", "timeout"}

CLUSTER_EXAMPLES = examples(
    "# A cluster with upstream's defaults (Ray 2.52.0, head 2 CPU/4Gi, one group of 1 worker 2 CPU/4Gi)",
    "kubectl ray create cluster demo",
    "",
    "# Print what would be created, send nothing",
    "kubectl ray create cluster demo --dry-run -o yaml",
    "",
    "# NVIDIA GPU workers on containerd nodes that need the nvidia runtime class and tolerate the GPU taint",
    "kubectl ray create cluster gpu-demo --worker-gpu 1 --worker-replicas 2 \\",
    "    --worker-runtime-class-name nvidia --worker-tolerations nvidia.com/gpu:NoSchedule \\",
    "    --worker-node-selectors cloud.google.com/gke-accelerator=nvidia-l4",
    "",
    "# Huawei Ascend NPU workers: the device plugin's extended resources and the Ray custom resource NPU",
    "kubectl ray create cluster npu-demo --ray-version 2.52.0 \\",
    "    --worker-resources huawei.com/Ascend910B=1,huawei.com/Ascend910B-memory=16384 \\",
    "    --worker-ray-resources '{\"NPU\": 1}' --worker-tolerations huawei.com/Ascend910B:NoSchedule",
    "",
    "# Multi-host TPU slice on GKE (v4 2x2x2: 2 hosts of 4 chips)",
    "kubectl ray create cluster tpu-demo --worker-tpu 4 --num-of-hosts 2 \\",
    "    --worker-node-selectors cloud.google.com/gke-tpu-accelerator=tpu-v4-podslice,cloud.google.com/gke-tpu-topology=2x2x2",
    "",
    "# Autoscaling between 0 and 5 workers with autoscaler v2, and wait until the cluster is up",
    "kubectl ray create cluster auto --autoscaler v2 --autoscaler-idle-timeout 120 \\",
    "    --worker-replicas 0 --worker-min-replicas 0 --worker-max-replicas 5 --wait --timeout 10m",
    "",
    "# GCS fault tolerance with an external Redis whose password is in Secret redis-auth, key password",
    "kubectl ray create cluster ft --gcs-ft-redis-address redis.redis.svc:6379 \\",
    "    --gcs-ft-redis-password-secret redis-auth:password",
    "",
    "# Several worker groups from a config file (keys are the flag names; see examples/create-cluster.yaml)",
    "kubectl ray create cluster --file examples/create-cluster.yaml",
)


def _cluster_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The create-cluster flags, in upstream's names and defaults, plus the additions."""
    opts: list[Callable[..., Any]] = [
        click.option("-f", "--file", "file", metavar="PATH", help="Create from a YAML config file (kebab-case keys named like the flags; '-' reads stdin). Other cluster flags cannot be combined with it."),
        click.option("--ray-version", default=DEFAULT_RAY_VERSION, show_default=True, help="Ray version (spec.rayVersion); also picks the image rayproject/ray:<version> unless --image is given."),
        click.option("--image", default=None, help=f"Image for head and workers [default: {DEFAULT_IMAGE}, or rayproject/ray:<--ray-version>]."),
        click.option("--labels", multiple=True, metavar="K=V,...", help="Labels on the RayCluster object."),
        click.option("--annotations", multiple=True, metavar="K=V,...", help="Annotations on the RayCluster object."),
        click.option("--service-account", default=None, help="Service account of the head and worker pods."),
        click.option("--env", "env_vars", multiple=True, metavar="KEY=VALUE", help="Environment variable for every Ray container (repeatable)."),
        click.option("--head-cpu", default="2", show_default=True, help="Head CPU request (no CPU limit is set)."),
        click.option("--head-memory", default="4Gi", show_default=True, help="Head memory request and limit."),
        click.option("--head-gpu", default="0", show_default=True, help="Head nvidia.com/gpu request and limit."),
        click.option("--head-ephemeral-storage", default="", help="Head ephemeral-storage request and limit."),
        click.option("--head-ray-start-params", multiple=True, metavar="K=V,...", help="rayStartParams of the head."),
        click.option("--head-node-selectors", multiple=True, metavar="K=V,...", help="nodeSelector of the head pod."),
        click.option("--head-runtime-class-name", default=None, help="runtimeClassName of the head pod (e.g. nvidia)."),
        click.option("--head-tolerations", multiple=True, metavar="TAINTS", help="Tolerations of the head pod in taint syntax: key=value:Effect, key:Effect, comma-separated."),
        click.option("--head-resources", multiple=True, metavar="NAME=QTY,...", help="Extended resources of the head (request = limit), e.g. amd.com/gpu=1."),
        click.option("--head-ray-resources", default=None, metavar="JSON", help='Ray custom resources of the head as JSON, e.g. \'{"NPU": 1}\'.'),
        click.option("--head-service-type", type=click.Choice(HEAD_SERVICE_TYPES, case_sensitive=False), default=None, metavar="[ClusterIP|NodePort|LoadBalancer]", help="Type of the head Service."),
        click.option("--worker-replicas", type=INT32, default=1, show_default=True, help="Replicas of the worker group default-group."),
        click.option("--worker-min-replicas", type=INT32, default=None, help="minReplicas of the worker group [default: 0]."),
        click.option("--worker-max-replicas", type=INT32, default=None, help="maxReplicas of the worker group [default: 2147483647]."),
        click.option("--num-of-hosts", type=INT32, default=1, show_default=True, help="Hosts per replica (multi-host TPU slices)."),
        click.option("--worker-cpu", default="2", show_default=True, help="Worker CPU request (no CPU limit is set)."),
        click.option("--worker-memory", default="4Gi", show_default=True, help="Worker memory request and limit."),
        click.option("--worker-gpu", default="0", show_default=True, help="Worker nvidia.com/gpu request and limit."),
        click.option("--worker-tpu", default="0", show_default=True, help="Worker google.com/tpu request and limit; needs the two GKE TPU node selectors."),
        click.option("--worker-ephemeral-storage", default="", help="Worker ephemeral-storage request and limit."),
        click.option("--worker-ray-start-params", multiple=True, metavar="K=V,...", help="rayStartParams of the workers."),
        click.option("--worker-node-selectors", multiple=True, metavar="K=V,...", help="nodeSelector of the worker pods."),
        click.option("--worker-runtime-class-name", default=None, help="runtimeClassName of the worker pods (e.g. nvidia)."),
        click.option("--worker-tolerations", multiple=True, metavar="TAINTS", help="Tolerations of the worker pods in taint syntax: key=value:Effect, key:Effect, comma-separated."),
        click.option("--worker-resources", multiple=True, metavar="NAME=QTY,...", help="Extended resources of the workers (request = limit), e.g. huawei.com/Ascend910B=1."),
        click.option("--worker-ray-resources", default=None, metavar="JSON", help='Ray custom resources of the workers as JSON, e.g. \'{"NPU": 1}\' (rayStartParams resources).'),
        click.option("--autoscaler", type=click.Choice(AUTOSCALER_VERSIONS, case_sensitive=False), default=None, metavar="[v1|v2]", help="Enable in-tree autoscaling with autoscaler v1 or v2."),
        click.option("--autoscaler-idle-timeout", default=None, metavar="SECONDS", help="Seconds an idle worker lives before the autoscaler removes it (60 if unset)."),
        click.option("--autoscaler-upscaling-mode", type=click.Choice(UPSCALING_MODES, case_sensitive=False), default=None, metavar="[Default|Aggressive|Conservative]", help="How fast the autoscaler adds workers."),
        click.option("--gcs-ft-redis-address", default=None, metavar="HOST:PORT", help="Enable GCS fault tolerance with this external Redis."),
        click.option("--gcs-ft-redis-password-secret", default=None, metavar="NAME:KEY", help="Secret (name:key) holding the Redis password; the password itself is never put in the object."),
        click.option("--gcs-ft-external-storage-namespace", default=None, help="Key prefix of this cluster's GCS data in Redis."),
        click.option("--wait", is_flag=True, help="Wait until the RayCluster is provisioned (all pods running and ready)."),
        click.option("--timeout", default=DEFAULT_TIMEOUT, show_default=True, help="How long --wait waits (e.g. 90s, 10m)."),
    ]
    for option in reversed(opts):
        func = option(func)
    return func


@click.command("cluster", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS, epilog=CLUSTER_EXAMPLES,
                short_help="Create a RayCluster from flags or a config file")
@click.argument("name", required=False)
@_cluster_options
@dry_run_option("client: print the RayCluster and send nothing (no request at all); server: send it with dryRun=All "
                "(the API server checks it, nothing is stored); none: create it.")
@output_option
@kube_command
def create_cluster(env: CommandEnv, name: str | None, file: str | None, dry_run: str, output: str | None,
                   wait: bool, timeout: str, **flags: Any) -> None:
    """Create a RayCluster named NAME from flags or from a config file.

    Without flags you get upstream kubectl-ray's cluster: Ray 2.52.0, a head with 2 CPU and 4Gi and
    one worker group "default-group" with 1 worker of 2 CPU and 4Gi. CPU is a request only; memory,
    GPU, TPU, ephemeral storage and extended resources are request = limit.
    """
    ctx = click.get_current_context()
    reject_empty_quantities(ctx, flags)
    mode = parse_dry_run(dry_run)
    timeout_seconds = _parse_timeout(timeout)
    if file is not None:
        options, names = _options_from_file(ctx, env, file, name)
    else:
        if not name:
            raise UsageError("a cluster name is required: kubectl ray create cluster NAME (or --file PATH)")
        options, names = options_from_flags(name, flags), FLAG_NAMES
        options.namespace = env.namespace
    validate_cluster_options(options, names)
    obj = build_raycluster(options)
    if mode == "client":
        print_object(obj, output or "yaml")
        return
    created = _create(env.kube(), obj, mode == "server")
    if mode == "server":
        print_object(created, output or "yaml")
        return
    if output:
        print_object(created, output)
    else:
        click.echo(f"raycluster.ray.io/{options.name} created")
    if wait:
        wait_for_cluster(env.kube(), options.name, str(options.namespace), timeout_seconds)


def options_from_flags(name: str, flags: dict[str, Any]) -> ClusterOptions:
    """ClusterOptions from create-cluster's flag values (syntax checked here, meaning in validate)."""
    head = HeadOptions(
        cpu=flags["head_cpu"], memory=flags["head_memory"], gpu=flags["head_gpu"],
        ephemeral_storage=flags["head_ephemeral_storage"] or None,
        ray_start_params=parse_key_values("--head-ray-start-params", flags["head_ray_start_params"]),
        node_selectors=parse_labels("--head-node-selectors", flags["head_node_selectors"]),
        runtime_class_name=flags["head_runtime_class_name"],
        tolerations=parse_tolerations("--head-tolerations", flags["head_tolerations"]),
        resources=parse_key_values("--head-resources", flags["head_resources"]),
        ray_resources=parse_ray_resources("--head-ray-resources", flags["head_ray_resources"]),
        service_type=_canonical(flags["head_service_type"], HEAD_SERVICE_TYPES),
    )
    group = worker_group_from_flags(flags)
    ft = None
    if any(flags[k] is not None for k in ("gcs_ft_redis_address", "gcs_ft_redis_password_secret",
                                            "gcs_ft_external_storage_namespace")):
        secret = flags["gcs_ft_redis_password_secret"]
        ft = GcsFaultToleranceOptions(
            redis_address=flags["gcs_ft_redis_address"],
            redis_password_secret=parse_secret_ref("--gcs-ft-redis-password-secret", secret) if secret is not None else None,
            external_storage_namespace=flags["gcs_ft_external_storage_namespace"],
        )
    idle = flags["autoscaler_idle_timeout"]
    return ClusterOptions(
        name=name,
        labels=parse_labels("--labels", flags["labels"]),
        annotations=parse_key_values("--annotations", flags["annotations"]),
        ray_version=flags["ray_version"],
        image=flags["image"] or None,  # --image "" means rayproject/ray:<--ray-version>, as upstream
        service_account=flags["service_account"],
        env=parse_env("--env", flags["env_vars"]),
        head=head,
        worker_groups=[group],
        autoscaler=flags["autoscaler"].lower() if flags["autoscaler"] else None,
        autoscaler_idle_timeout_seconds=_parse_seconds("--autoscaler-idle-timeout", idle) if idle is not None else None,
        autoscaler_upscaling_mode=_canonical(flags["autoscaler_upscaling_mode"], UPSCALING_MODES),
        gcs_fault_tolerance=ft,
    )


def _options_from_file(ctx: click.Context, env: CommandEnv, path: str, name: str | None) -> tuple[ClusterOptions, OptionNames]:
    conflicting = _explicit_flags(ctx, exclude=FILE_COMPATIBLE)
    if conflicting:
        raise UsageError(f"the following flags are incompatible with --file: {', '.join(conflicting)} "
                         "(put these settings in the file)")
    from kubectl_ray.resources.config_file import load_config_file

    config = load_config_file(path)
    if name and config.name and config.name != name:
        raise UsageError(f'the cluster name in the config file "{config.name}" does not match the cluster name '
                         f'"{name}". You must use the same name to perform this operation')
    options = config.options
    options.name = name or config.name or ""
    if not options.name:
        raise UsageError(f"a cluster name is required: give NAME or set name: in {config.source}")
    if config.namespace:
        if env.namespace_explicit and env.namespace != config.namespace:
            raise UsageError(f'the namespace in the config file "{config.namespace}" does not match the namespace '
                             f'"{env.namespace}". You must pass --namespace={config.namespace} to perform this operation')
        options.namespace = config.namespace
    else:
        options.namespace = env.namespace
    return options, config.names


def _explicit_flags(ctx: click.Context, *, exclude: set[str]) -> list[str]:
    from click.core import ParameterSource
    from kubectl_ray.env import CONNECTION_PARAM_NAMES

    found = []
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name in exclude or param.name in CONNECTION_PARAM_NAMES:
            continue
        if param.name and ctx.get_parameter_source(param.name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
            found.append(max(param.opts, key=len))
    return sorted(found)


def _create(kube: "KubeClient", obj: dict[str, Any], server_dry_run: bool) -> dict[str, Any]:
    """Refuse an existing cluster (a 403 on the check is an error, not "absent"), then POST."""
    from kubectl_ray.kube.errors import ApiError
    from kubectl_ray.kube.resources import RAYCLUSTERS

    name, namespace = obj["metadata"]["name"], obj["metadata"]["namespace"]
    if kube.get_or_none(RAYCLUSTERS, name, namespace) is not None:
        raise _already_exists(name, namespace)
    try:
        return kube.create(RAYCLUSTERS, obj, namespace, dry_run=server_dry_run)
    except ApiError as exc:
        if exc.status == 409 and exc.reason == "AlreadyExists":  # created by someone else in between
            raise _already_exists(name, namespace) from None
        raise


def _already_exists(name: str, namespace: str) -> KubectlRayError:
    return KubectlRayError(f'raycluster.ray.io "{name}" already exists in namespace "{namespace}"')


def _parse_timeout(value: str) -> float:
    seconds = parse_duration("--timeout", value)
    if seconds <= 0:
        raise UsageError(f"invalid --timeout {value!r}: must be greater than zero")
    return seconds


def _parse_seconds(flag: str, value: str) -> int:
    seconds = parse_duration(flag, value, bare_seconds=True)
    if seconds != int(seconds):
        raise UsageError(f"invalid {flag} {value!r}: must be a whole number of seconds")
    return int(seconds)


def _canonical(value: str | None, choices: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    return next((c for c in choices if c.lower() == value.lower()), value)
