"""RayCluster builders shared by `create cluster`, `create workergroup` and `job submit`.

Options dataclasses in, plain dicts (as on the wire) out. No I/O, clock or randomness here.

Public API (kept stable; helper code elsewhere depends on these names):

- `HeadOptions`, `WorkerGroupOptions`, `ClusterOptions`: defaults are upstream `kubectl ray`'s
  (Ray 2.52.0, head 2 CPU / 4Gi, one worker group `default-group` with 1 replica of 2 CPU / 4Gi).
- `validate_cluster_options(options, names=FLAG_NAMES)`: raises `UsageError` naming the flag (or
  config-file key) and the bad value. Call it before building; the builders assume valid options.
- `build_raycluster(options)`: the whole object (apiVersion ray.io/v1, kind RayCluster, metadata).
- `build_cluster_spec(options)`: just `spec` (what a RayJob's `spec.rayClusterSpec` holds).
- `build_worker_group(group, image)`: one `workerGroupSpecs[]` entry.
- `worker_image_for_cluster(cluster, image, ray_version)`: the image a new group of an existing
  cluster should run.

The shape matches upstream's generator (kubectl-plugin/pkg/util/generation): containers `ray-head` /
`ray-worker`, head ports 6379/8265/10001, requests = every non-zero resource, limits = the same minus
CPU (no CPU limit), empty maps omitted. Extended resources (`amd.com/gpu`, Ascend NPUs) get
request = limit, as Kubernetes requires for them.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from kubectl_ray.errors import UsageError
from kubectl_ray.parsing import (
    DNS1123_SUBDOMAIN, TAINT_EFFECTS, parse_quantity_flag, validate_label_key, validate_label_value, validate_name,
)
from kubectl_ray.resources.quantity import QuantityError, parse_quantity

DEFAULT_RAY_VERSION = "2.52.0"
RAY_IMAGE_REPOSITORY = "rayproject/ray"
DEFAULT_IMAGE = f"{RAY_IMAGE_REPOSITORY}:{DEFAULT_RAY_VERSION}"
DEFAULT_GROUP_NAME = "default-group"
HEAD_CONTAINER = "ray-head"
WORKER_CONTAINER = "ray-worker"
HEAD_PORTS = ((6379, "gcs-server"), (8265, "dashboard"), (10001, "client"))
GPU_RESOURCE = "nvidia.com/gpu"
TPU_RESOURCE = "google.com/tpu"
TPU_ACCELERATOR_SELECTOR = "cloud.google.com/gke-tpu-accelerator"
TPU_TOPOLOGY_SELECTOR = "cloud.google.com/gke-tpu-topology"
TPU_DOCS = "https://cloud.google.com/kubernetes-engine/docs/concepts/plan-tpus#availability"
MAX_CLUSTER_NAME_LENGTH = 53  # KubeRay >= 1.4 derives Service/Pod names from it
MAX_GROUP_NAME_LENGTH = 63  # it becomes the ray.io/group label value
INT32_MAX = 2147483647
AUTOSCALER_VERSIONS = ("v1", "v2")
UPSCALING_MODES = ("Default", "Aggressive", "Conservative")
HEAD_SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
# `ray start --resources` refuses these: they have their own flags (num-cpus, num-gpus, memory, ...).
RAY_RESERVED_RESOURCES = ("CPU", "GPU", "memory", "object_store_memory")
# Resources with their own flags; --*-resources is for extended resources only.
DEDICATED_RESOURCES = ("cpu", "memory", "ephemeral-storage")
GCSFUSE_DRIVER = "gcsfuse.csi.storage.gke.io"
GCSFUSE_VOLUME = "cluster-storage"
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def default_image(ray_version: str) -> str:
    return f"{RAY_IMAGE_REPOSITORY}:{ray_version}"


# --- options -----------------------------------------------------------------------------------


@dataclass
class HeadOptions:
    """The head group. Quantities are strings as typed (`2`, `500m`, `4Gi`); None or "0" = not set."""

    cpu: str | None = "2"
    memory: str | None = "4Gi"
    gpu: str | None = "0"
    ephemeral_storage: str | None = None
    ray_start_params: dict[str, str] = field(default_factory=dict)
    node_selectors: dict[str, str] = field(default_factory=dict)
    runtime_class_name: str | None = None
    tolerations: list[dict[str, Any]] = field(default_factory=list)  # Kubernetes Toleration dicts
    resources: dict[str, str] = field(default_factory=dict)  # extended resources, request = limit
    ray_resources: dict[str, float] = field(default_factory=dict)  # Ray custom resources (rayStartParams)
    env: dict[str, str] = field(default_factory=dict)  # on top of ClusterOptions.env
    service_type: str | None = None  # headGroupSpec.serviceType


@dataclass
class WorkerGroupOptions:
    """One worker group. min/max None = leave to the CRD defaults (0 and 2147483647), like upstream."""

    name: str = DEFAULT_GROUP_NAME
    replicas: int = 1
    min_replicas: int | None = None
    max_replicas: int | None = None
    num_of_hosts: int = 1
    cpu: str | None = "2"
    memory: str | None = "4Gi"
    gpu: str | None = "0"
    tpu: str | None = "0"
    ephemeral_storage: str | None = None
    ray_start_params: dict[str, str] = field(default_factory=dict)
    node_selectors: dict[str, str] = field(default_factory=dict)
    runtime_class_name: str | None = None
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    resources: dict[str, str] = field(default_factory=dict)
    ray_resources: dict[str, float] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class GcsFaultToleranceOptions:
    """spec.gcsFaultToleranceOptions with an external Redis; the password only as a Secret reference."""

    redis_address: str | None = None
    redis_password_secret: tuple[str, str] | None = None  # (secret name, key)
    external_storage_namespace: str | None = None


@dataclass
class GcsFuseOptions:
    """A GKE Cloud Storage FUSE volume mounted on every Ray container (config file `gke.gcsfuse`)."""

    bucket_name: str | None = None
    mount_path: str | None = None
    mount_options: str | None = None
    disable_metrics: bool | None = None
    gcsfuse_metadata_prefetch_on_mount: bool | None = None
    skip_csi_bucket_access_check: bool | None = None
    cpu: str | None = None  # sidecar resources, as gke-gcsfuse/* pod annotations
    memory: str | None = None
    ephemeral_storage: str | None = None


@dataclass
class ClusterOptions:
    """A whole RayCluster. image None = `rayproject/ray:<ray_version>`."""

    name: str = ""
    namespace: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    ray_version: str = DEFAULT_RAY_VERSION
    image: str | None = None
    service_account: str | None = None
    env: dict[str, str] = field(default_factory=dict)  # every Ray container
    head: HeadOptions = field(default_factory=HeadOptions)
    worker_groups: list[WorkerGroupOptions] = field(default_factory=lambda: [WorkerGroupOptions()])
    autoscaler: str | None = None  # "v1" | "v2"; None = no in-tree autoscaling
    autoscaler_idle_timeout_seconds: int | None = None
    autoscaler_upscaling_mode: str | None = None
    gcs_fault_tolerance: GcsFaultToleranceOptions | None = None
    gcsfuse: GcsFuseOptions | None = None

    @property
    def resolved_image(self) -> str:
        return self.image or default_image(self.ray_version)


# --- how the user spelled each option (for error messages) -------------------------------------


class OptionNames:
    """Names options the way the user wrote them. The default spells create-cluster's flags."""

    _CLUSTER = {
        "name": "NAME", "namespace": "--namespace", "ray_version": "--ray-version", "image": "--image",
        "labels": "--labels", "annotations": "--annotations", "service_account": "--service-account",
        "env": "--env", "autoscaler": "--autoscaler", "autoscaler_idle_timeout_seconds": "--autoscaler-idle-timeout",
        "autoscaler_upscaling_mode": "--autoscaler-upscaling-mode", "redis_address": "--gcs-ft-redis-address",
        "redis_password_secret": "--gcs-ft-redis-password-secret",
        "external_storage_namespace": "--gcs-ft-external-storage-namespace",
    }
    _WORKER = {"num_of_hosts": "--num-of-hosts", "name": "worker group name", "env": "--env"}
    _HEAD = {"env": "--env"}

    def cluster(self, name: str) -> str:
        return self._CLUSTER.get(name, "--" + _kebab(name))

    def head(self, name: str) -> str:
        return self._HEAD.get(name, "--head-" + _kebab(name))

    def worker(self, index: int, name: str) -> str:
        return self._WORKER.get(name, "--worker-" + _kebab(name))

    def gcsfuse(self, name: str) -> str:
        return "gke.gcsfuse." + _kebab(name)


FLAG_NAMES = OptionNames()


def _kebab(name: str) -> str:
    return name.replace("_", "-")


# --- validation -------------------------------------------------------------------------------


def validate_cluster_options(options: ClusterOptions, names: OptionNames = FLAG_NAMES) -> None:
    """Check everything that can be checked without the cluster; the first problem is raised."""
    validate_name("RayCluster", options.name, max_length=MAX_CLUSTER_NAME_LENGTH)
    _require_text(names.cluster("ray_version"), options.ray_version)
    if options.image is not None:
        _require_text(names.cluster("image"), options.image)
    _check_labels(names.cluster("labels"), options.labels)
    _check_annotations(names.cluster("annotations"), options.annotations)
    if options.service_account is not None:
        _check_dns_subdomain(names.cluster("service_account"), options.service_account)
    _check_env(names.cluster("env"), options.env)
    _check_autoscaler(options, names)
    if options.gcs_fault_tolerance is not None:
        _check_gcs_fault_tolerance(options.gcs_fault_tolerance, names)
    if options.gcsfuse is not None:
        _check_gcsfuse(options.gcsfuse, names)
    validate_head(options.head, names.head)
    seen: dict[str, int] = {}
    for index, group in enumerate(options.worker_groups):
        validate_worker_group(group, lambda f, i=index: names.worker(i, f))
        if group.name in seen:
            raise UsageError(f"duplicate worker group name {group.name!r} ({names.worker(index, 'name')}): "
                             "every group needs its own name")
        seen[group.name] = index


def validate_head(head: HeadOptions, name: Callable[[str], str] = FLAG_NAMES.head) -> None:
    for attr in ("cpu", "memory", "gpu", "ephemeral_storage"):
        _check_quantity(name(attr), getattr(head, attr))
    _check_pod_extras(head, name)
    if head.service_type is not None and head.service_type not in HEAD_SERVICE_TYPES:
        raise UsageError(f"invalid {name('service_type')} {head.service_type!r}: must be one of "
                         f"{', '.join(HEAD_SERVICE_TYPES)}")


def validate_worker_group(group: WorkerGroupOptions, name: Callable[[str], str] = lambda f: FLAG_NAMES.worker(0, f)) -> None:
    validate_name("worker group", group.name, max_length=MAX_GROUP_NAME_LENGTH)
    for attr in ("replicas", "min_replicas", "max_replicas"):
        _check_count(name(attr), getattr(group, attr))
    _check_count(name("num_of_hosts"), group.num_of_hosts, minimum=1)
    _check_replica_range(group, name)
    for attr in ("cpu", "memory", "gpu", "tpu", "ephemeral_storage"):
        _check_quantity(name(attr), getattr(group, attr))
    _check_pod_extras(group, name)
    if is_set(group.tpu):
        for selector in (TPU_ACCELERATOR_SELECTOR, TPU_TOPOLOGY_SELECTOR):
            if selector not in group.node_selectors:
                raise UsageError(f"{selector} is not set in {name('node_selectors')} ({name('tpu')} is "
                                 f"{group.tpu!r}). See {TPU_DOCS} for supported values")


def _check_replica_range(group: WorkerGroupOptions, name: Callable[[str], str]) -> None:
    low = 0 if group.min_replicas is None else group.min_replicas
    high = INT32_MAX if group.max_replicas is None else group.max_replicas
    if low > high:
        raise UsageError(f"{name('min_replicas')} ({low}) cannot be greater than {name('max_replicas')} ({high})")
    if group.replicas < low:
        raise UsageError(f"{name('replicas')} ({group.replicas}) cannot be less than {name('min_replicas')} ({low})")
    if group.replicas > high:
        raise UsageError(f"{name('replicas')} ({group.replicas}) cannot be greater than {name('max_replicas')} ({high})")


def _check_pod_extras(opts: HeadOptions | WorkerGroupOptions, name: Callable[[str], str]) -> None:
    _check_labels(name("node_selectors"), opts.node_selectors)
    for key in opts.ray_start_params:
        if not str(key).strip():
            raise UsageError(f"invalid {name('ray_start_params')}: empty parameter name")
    if opts.runtime_class_name is not None:
        _check_dns_subdomain(name("runtime_class_name"), opts.runtime_class_name)
    for toleration in opts.tolerations:
        _check_toleration(name("tolerations"), toleration)
    _check_extended_resources(name("resources"), opts.resources, opts)
    _check_ray_resources(name("ray_resources"), opts.ray_resources)
    if opts.ray_resources and "resources" in opts.ray_start_params:
        raise UsageError(f"{name('ray_resources')} and resources= in {name('ray_start_params')} both set Ray's "
                         "custom resources: use only one")
    _check_env(name("env"), opts.env)


def _check_quantity(flag: str, value: object) -> None:
    if value is None or value == "":
        return
    parse_quantity_flag(flag, value)


def _check_count(flag: str, value: int | None, *, minimum: int = 0) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{flag} must be an integer, not {value!r}")
    if value < minimum:
        raise UsageError(f"{flag} must be {'a non-negative integer' if minimum == 0 else f'at least {minimum}'}, not {value}")
    if value > INT32_MAX:
        raise UsageError(f"{flag} must be at most {INT32_MAX}, not {value}")


def _require_text(flag: str, value: str | None) -> None:
    if not value or not str(value).strip() or any(c.isspace() for c in str(value)):
        raise UsageError(f"invalid {flag} {value!r}: must be non-empty and without spaces")


def _check_labels(flag: str, labels: dict[str, str]) -> None:
    for key, value in labels.items():
        validate_label_key(flag, key)
        validate_label_value(flag, key, value)


def _check_annotations(flag: str, annotations: dict[str, str]) -> None:
    for key in annotations:
        validate_label_key(flag, key)


def _check_dns_subdomain(flag: str, value: str) -> None:
    if not value or len(value) > 253 or not DNS1123_SUBDOMAIN.match(value):
        raise UsageError(f"invalid {flag} {value!r}: must be a lowercase DNS subdomain (letters, digits, '-' and '.')")


def _check_env(flag: str, env: dict[str, str]) -> None:
    for key in env:
        if not _ENV_NAME.match(key):
            raise UsageError(f"invalid {flag} name {key!r}: must consist of letters, digits, '_', '-' or '.', "
                             "and must not start with a digit")


def _check_toleration(flag: str, toleration: dict[str, Any]) -> None:
    effect = toleration.get("effect")
    if effect is not None and effect not in TAINT_EFFECTS:
        raise UsageError(f"invalid {flag} effect {effect!r}: must be one of {', '.join(TAINT_EFFECTS)}")
    if toleration.get("operator") not in ("Equal", "Exists"):
        raise UsageError(f"invalid {flag} operator {toleration.get('operator')!r}: must be Equal or Exists")


def _check_extended_resources(flag: str, resources: dict[str, str], opts: HeadOptions | WorkerGroupOptions) -> None:
    dedicated = {GPU_RESOURCE: getattr(opts, "gpu", None), TPU_RESOURCE: getattr(opts, "tpu", None)}
    for key, value in resources.items():
        if key in DEDICATED_RESOURCES:
            own = flag.replace("-resources", f"-{key}") if flag.startswith("--") else key
            raise UsageError(f"invalid {flag} {key}={value}: {key} has its own setting ({own})")
        if "/" not in key:
            raise UsageError(f"invalid {flag} name {key!r}: extended resources need a domain prefix "
                             "(e.g. amd.com/gpu, huawei.com/Ascend910B)")
        validate_label_key(flag, key)
        if is_set(dedicated.get(key)):
            raise UsageError(f"{key} is set twice: by {flag} and by its own flag ({dedicated[key]!r})")
        quantity = parse_quantity_flag(f"{flag} {key}", value)
        if quantity.milli % 1000:
            raise UsageError(f"invalid {flag} {key}={value}: extended resources must be whole numbers")


def _check_ray_resources(flag: str, resources: dict[str, Any]) -> None:
    for key, value in resources.items():
        if not isinstance(key, str) or not key.strip():
            raise UsageError(f"invalid {flag}: empty resource name")
        if key in RAY_RESERVED_RESOURCES:
            raise UsageError(f"invalid {flag} key {key!r}: Ray sets {', '.join(RAY_RESERVED_RESOURCES)} itself "
                             "(use the cpu/gpu/memory settings instead)")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise UsageError(f"invalid {flag} value for {key!r}: {value!r} is not a number")
        if value < 0:
            raise UsageError(f"invalid {flag} value for {key!r}: {value!r} cannot be negative")


def _check_autoscaler(options: ClusterOptions, names: OptionNames) -> None:
    flag = names.cluster("autoscaler")
    if options.autoscaler is not None and options.autoscaler not in AUTOSCALER_VERSIONS:
        raise UsageError(f"invalid {flag} {options.autoscaler!r}: must be one of {', '.join(AUTOSCALER_VERSIONS)}")
    mode = options.autoscaler_upscaling_mode
    if mode is not None and mode not in UPSCALING_MODES:
        raise UsageError(f"invalid {names.cluster('autoscaler_upscaling_mode')} {mode!r}: must be one of "
                         f"{', '.join(UPSCALING_MODES)}")
    _check_count(names.cluster("autoscaler_idle_timeout_seconds"), options.autoscaler_idle_timeout_seconds)
    for attr in ("autoscaler_idle_timeout_seconds", "autoscaler_upscaling_mode"):
        if getattr(options, attr) is not None and options.autoscaler is None:
            raise UsageError(f"{names.cluster(attr)} needs the autoscaler: add {flag} v1 or v2")


def _check_gcs_fault_tolerance(ft: GcsFaultToleranceOptions, names: OptionNames) -> None:
    if not ft.redis_address or not ft.redis_address.strip():
        given = [names.cluster(a) for a in ("redis_password_secret", "external_storage_namespace") if getattr(ft, a)]
        raise UsageError(f"{', '.join(given) or 'GCS fault tolerance'} needs {names.cluster('redis_address')} "
                         "(host:port of the external Redis)")
    _require_text(names.cluster("redis_address"), ft.redis_address)
    if ft.redis_password_secret is not None:
        secret, key = ft.redis_password_secret
        flag = names.cluster("redis_password_secret")
        _check_dns_subdomain(f"{flag} secret name", secret)
        if not _SECRET_KEY.match(key):
            raise UsageError(f"invalid {flag} key {key!r}: must consist of letters, digits, '-', '_' or '.'")
    if ft.external_storage_namespace is not None:
        _require_text(names.cluster("external_storage_namespace"), ft.external_storage_namespace)


def _check_gcsfuse(fuse: GcsFuseOptions, names: OptionNames) -> None:
    for attr in ("bucket_name", "mount_path"):
        if not getattr(fuse, attr):
            raise UsageError(f"{names.gcsfuse(attr)} is required")
    if not str(fuse.mount_path).startswith("/"):
        raise UsageError(f"invalid {names.gcsfuse('mount_path')} {fuse.mount_path!r}: must be an absolute path")
    for attr in ("cpu", "memory", "ephemeral_storage"):
        _check_quantity(names.gcsfuse(f"resources.{_kebab(attr)}"), getattr(fuse, attr))


def parse_secret_ref(flag: str, value: str) -> tuple[str, str]:
    """`NAME:KEY` -> (name, key): a Secret reference, never the secret itself."""
    name, sep, key = value.partition(":")
    if not sep or not name or not key:
        raise UsageError(f"invalid {flag} {value!r}: expected SECRET_NAME:KEY (a Secret in the cluster's namespace)")
    return name, key


def parse_ray_resources(flag: str, value: str | None) -> dict[str, float]:
    """A JSON object of Ray custom resources (`{"NPU": 1}`), checked as `ray start --resources` would."""
    if value is None or not value.strip():
        return {}
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise UsageError(f"invalid {flag} {value!r}: not valid JSON ({exc})") from None
    if not isinstance(parsed, dict):
        raise UsageError(f"invalid {flag} {value!r}: expected a JSON object such as '{{\"NPU\": 1}}'")
    _check_ray_resources(flag, parsed)
    return parsed


# --- builders ---------------------------------------------------------------------------------


def build_raycluster(options: ClusterOptions) -> dict[str, Any]:
    """The RayCluster object `create cluster` sends."""
    metadata: dict[str, Any] = {"name": options.name}
    if options.namespace:
        metadata["namespace"] = options.namespace
    if options.labels:
        metadata["labels"] = dict(options.labels)
    if options.annotations:
        metadata["annotations"] = dict(options.annotations)
    return {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": metadata, "spec": build_cluster_spec(options)}


def build_cluster_spec(options: ClusterOptions) -> dict[str, Any]:
    """A RayCluster `spec` (also a RayJob's `spec.rayClusterSpec`)."""
    image = options.resolved_image
    spec: dict[str, Any] = {"rayVersion": options.ray_version, "headGroupSpec": build_head_group(options)}
    groups = [build_worker_group(g, image, service_account=options.service_account, common_env=options.env,
                                 gcsfuse=options.gcsfuse) for g in options.worker_groups]
    if groups:
        spec["workerGroupSpecs"] = groups
    if options.autoscaler:
        spec["enableInTreeAutoscaling"] = True
        autoscaler: dict[str, Any] = {"version": options.autoscaler}
        if options.autoscaler_idle_timeout_seconds is not None:
            autoscaler["idleTimeoutSeconds"] = options.autoscaler_idle_timeout_seconds
        if options.autoscaler_upscaling_mode:
            autoscaler["upscalingMode"] = options.autoscaler_upscaling_mode
        spec["autoscalerOptions"] = autoscaler
    if options.gcs_fault_tolerance is not None:
        spec["gcsFaultToleranceOptions"] = _gcs_fault_tolerance(options.gcs_fault_tolerance)
    return spec


def build_head_group(options: ClusterOptions) -> dict[str, Any]:
    head = options.head
    container: dict[str, Any] = {
        "name": HEAD_CONTAINER,
        "image": options.resolved_image,
        "ports": [{"containerPort": port, "name": name} for port, name in HEAD_PORTS],
    }
    _add_container_extras(container, head, options.env, options.gcsfuse, tpu=None)
    group: dict[str, Any] = {}
    params = ray_start_params(head.ray_start_params, head.ray_resources)
    if params:
        group["rayStartParams"] = params
    if head.service_type:
        group["serviceType"] = head.service_type
    group["template"] = _pod_template(container, head, options.service_account, options.gcsfuse)
    return group


def build_worker_group(group: WorkerGroupOptions, image: str, *, service_account: str | None = None,
                       common_env: dict[str, str] | None = None, gcsfuse: GcsFuseOptions | None = None,
                       always_ray_start_params: bool = False) -> dict[str, Any]:
    """One `workerGroupSpecs[]` entry running `image`.

    always_ray_start_params sends `rayStartParams: {}` when empty: KubeRay < 1.4 requires the field
    (kuberay#3250); `create workergroup` appends to clusters of any operator version.
    """
    container: dict[str, Any] = {"name": WORKER_CONTAINER, "image": image}
    _add_container_extras(container, group, common_env or {}, gcsfuse, tpu=group.tpu)
    # minReplicas/maxReplicas always written, with the values the API server would default (0 and
    # 2147483647): KubeRay >= 1.6 wants both when autoscaling is off, and `debug` (AS-09) checks the
    # object as sent, not as a server that applies CRD defaults would store it.
    spec: dict[str, Any] = {"groupName": group.name, "replicas": group.replicas,
                            "minReplicas": 0 if group.min_replicas is None else group.min_replicas,
                            "maxReplicas": INT32_MAX if group.max_replicas is None else group.max_replicas}
    spec["numOfHosts"] = group.num_of_hosts
    params = ray_start_params(group.ray_start_params, group.ray_resources)
    if params or always_ray_start_params:
        spec["rayStartParams"] = params
    spec["template"] = _pod_template(container, group, service_account, gcsfuse)
    return spec


def ray_start_params(params: dict[str, str], ray_resources: dict[str, Any]) -> dict[str, str]:
    result = {str(k): str(v) for k, v in params.items()}
    if ray_resources:
        result["resources"] = ray_resources_param(ray_resources)
    return result


def ray_resources_param(resources: dict[str, Any]) -> str:
    """Ray custom resources as KubeRay wants them in rayStartParams: a JSON object inside double quotes.

    KubeRay pastes the value into `ray start --resources=<value>` run by a shell, so the quotes
    inside must be escaped: {"NPU": 1} becomes the text "{\\"NPU\\":1}" (YAML: '"{\\"NPU\\":1}"').
    """
    text = json.dumps(resources, separators=(",", ":"))
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def container_resources(*, cpu: str | None, memory: str | None, gpu: str | None, tpu: str | None,
                        ephemeral_storage: str | None, extended: dict[str, str] | None = None) -> dict[str, Any]:
    """requests = every non-zero resource; limits = the same without CPU (no CPU limit, like upstream)."""
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    for name, value, limited in (("cpu", cpu, False), ("memory", memory, True),
                                 ("ephemeral-storage", ephemeral_storage, True),
                                 (GPU_RESOURCE, gpu, True), (TPU_RESOURCE, tpu, True),
                                 *((k, v, True) for k, v in (extended or {}).items())):
        if not is_set(value):
            continue
        text = quantity_as_written(value)
        requests[name] = text
        if limited:
            limits[name] = text
    result: dict[str, Any] = {}
    if limits:
        result["limits"] = limits
    if requests:
        result["requests"] = requests
    return result


def _add_container_extras(container: dict[str, Any], opts: HeadOptions | WorkerGroupOptions,
                          common_env: dict[str, str], gcsfuse: GcsFuseOptions | None, *, tpu: str | None) -> None:
    env = {**common_env, **opts.env}
    if env:
        container["env"] = [{"name": k, "value": str(v)} for k, v in env.items()]
    resources = container_resources(cpu=opts.cpu, memory=opts.memory, gpu=opts.gpu, tpu=tpu,
                                    ephemeral_storage=opts.ephemeral_storage, extended=opts.resources)
    if resources:
        container["resources"] = resources
    if gcsfuse is not None:
        container["volumeMounts"] = [{"name": GCSFUSE_VOLUME, "mountPath": gcsfuse.mount_path}]


def _pod_template(container: dict[str, Any], opts: HeadOptions | WorkerGroupOptions, service_account: str | None,
                  gcsfuse: GcsFuseOptions | None) -> dict[str, Any]:
    pod: dict[str, Any] = {"containers": [container]}
    if opts.node_selectors:
        pod["nodeSelector"] = dict(opts.node_selectors)
    if opts.runtime_class_name:
        pod["runtimeClassName"] = opts.runtime_class_name
    if opts.tolerations:
        pod["tolerations"] = [dict(t) for t in opts.tolerations]
    if service_account:
        pod["serviceAccountName"] = service_account
    template: dict[str, Any] = {}
    if gcsfuse is not None:
        pod["volumes"] = [_gcsfuse_volume(gcsfuse)]
        template["metadata"] = {"annotations": _gcsfuse_annotations(gcsfuse)}
    template["spec"] = pod
    return template


def _gcs_fault_tolerance(ft: GcsFaultToleranceOptions) -> dict[str, Any]:
    result: dict[str, Any] = {"redisAddress": ft.redis_address}
    if ft.redis_password_secret is not None:
        name, key = ft.redis_password_secret
        result["redisPassword"] = {"valueFrom": {"secretKeyRef": {"name": name, "key": key}}}
    if ft.external_storage_namespace:
        result["externalStorageNamespace"] = ft.external_storage_namespace
    return result


def _gcsfuse_volume(fuse: GcsFuseOptions) -> dict[str, Any]:
    attributes: dict[str, str] = {"bucketName": str(fuse.bucket_name)}
    if fuse.mount_options:
        attributes["mountOptions"] = fuse.mount_options
    for attr, key in (("disable_metrics", "disableMetrics"),
                      ("gcsfuse_metadata_prefetch_on_mount", "gcsfuseMetadataPrefetchOnMount"),
                      ("skip_csi_bucket_access_check", "skipCSIBucketAccessCheck")):
        value = getattr(fuse, attr)
        if value is not None:
            attributes[key] = "true" if value else "false"  # CSI volume attributes are strings
    return {"name": GCSFUSE_VOLUME, "csi": {"driver": GCSFUSE_DRIVER, "volumeAttributes": attributes}}


def _gcsfuse_annotations(fuse: GcsFuseOptions) -> dict[str, str]:
    # GKE injects the FUSE sidecar only into pods annotated gke-gcsfuse/volumes: "true".
    annotations = {"gke-gcsfuse/volumes": "true"}
    if is_set(fuse.cpu):
        annotations["gke-gcsfuse/cpu-request"] = quantity_as_written(fuse.cpu)
    for attr, name in (("memory", "memory"), ("ephemeral_storage", "ephemeral-storage")):
        value = getattr(fuse, attr)
        if is_set(value):
            annotations[f"gke-gcsfuse/{name}-limit"] = quantity_as_written(value)
            annotations[f"gke-gcsfuse/{name}-request"] = quantity_as_written(value)
    return annotations


def is_set(value: object) -> bool:
    """A quantity counts when it is given and not zero ("", None, "0", 0 mean "not set")."""
    if value is None or value == "":
        return False
    try:
        return not parse_quantity(value).is_zero()
    except QuantityError:
        return True  # invalid, not unset: validation reports it


def quantity_as_written(value: object) -> str:
    """A quantity as the user wrote it (`1e9` stays `1e9`): the API server keeps a custom resource's
    quantities as written, and so does upstream; only its validity is checked here."""
    try:
        parse_quantity(value)
    except QuantityError as exc:
        raise UsageError(f"{value!r} is not a valid resource quantity: {exc}") from None
    return str(value)


# --- existing clusters ------------------------------------------------------------------------


def worker_image_for_cluster(cluster: dict[str, Any], image: str | None, ray_version: str | None) -> str:
    """Image for a new worker group: --image, else rayproject/ray:<--ray-version>, else the head's image.

    Workers must run the head's Ray version, so without flags the group copies the head container's
    image rather than the plugin's default (upstream used its own default, whatever the cluster ran).
    """
    if image:
        return image
    if ray_version:
        return default_image(ray_version)
    from kubectl_ray.shapes import objects, text

    containers = objects(cluster, "spec", "headGroupSpec", "template", "spec", "containers")
    head = next((c for c in containers if c.get("name") == HEAD_CONTAINER), containers[0] if containers else None)
    if head and text(head, "image"):
        return text(head, "image")
    return default_image(text(cluster, "spec", "rayVersion") or DEFAULT_RAY_VERSION)


def worker_group_names(cluster: dict[str, Any]) -> list[str]:
    from kubectl_ray.shapes import objects, text

    return [text(g, "groupName") for g in objects(cluster, "spec", "workerGroupSpecs")]


def cluster_progress(cluster: dict[str, Any]) -> tuple[bool, str]:
    """(provisioned?, what it is waiting for) from a RayCluster's status, as KubeRay >= 1.2 sets it.

    Provisioned = condition RayClusterProvisioned True (set once all pods first ran and were ready)
    or status.state "ready" (older operators without conditions).
    """
    from kubectl_ray.shapes import integer, mapping, objects, text

    status = mapping(cluster, "status")
    conditions = {text(c, "type"): c for c in objects(status, "conditions")}
    provisioned = conditions.get("RayClusterProvisioned") or {}
    if provisioned.get("status") == "True" or status.get("state") == "ready":
        return True, "provisioned"
    failure = conditions.get("ReplicaFailure") or {}
    if failure.get("status") == "True":
        return False, f"pod creation failed ({text(failure, 'reason') or 'ReplicaFailure'}): {text(failure, 'message')}".rstrip(": ")
    if status.get("state") == "suspended":
        return False, "suspended (spec.suspend is true)"
    head = conditions.get("HeadPodReady")
    if head is not None and head.get("status") != "True":
        return False, f"head pod not ready ({text(head, 'reason') or 'Unknown'})"
    if provisioned:
        ready = integer(status, "readyWorkerReplicas")
        desired = integer(status, "desiredWorkerReplicas")
        return False, f"{ready}/{desired} workers ready ({text(provisioned, 'reason') or 'RayClusterPodsProvisioning'})"
    if not status:
        return False, "no status yet (is the KubeRay operator running?)"
    return False, f"state {text(status, 'state') or 'unknown'}"
