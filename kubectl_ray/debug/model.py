"""Read-only views over a Snapshot that the rules share: clusters, pods, containers, operator, versions.

Everything here is pure (no I/O, no clock). Conventions from diagnostics.md §0: the Ray container is
index 0 of `containers` (never found by name); sidecars and init containers are found by name; pods
belong to a cluster through the `ray.io/cluster` label and to a role through `ray.io/node-type` and
`ray.io/group`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable

from kubectl_ray.debug.snapshot import Snapshot, TargetRef
from kubectl_ray.printing import parse_timestamp
from kubectl_ray.versions import image_tag, parse_version

AUTOSCALER_CONTAINER = "autoscaler"
WAIT_GCS_READY = "wait-gcs-ready"
SUBMITTER_CONTAINER = "ray-job-submitter"
FT_ANNOTATION = "ray.io/ft-enabled"
STORAGE_NS_ANNOTATION = "ray.io/external-storage-namespace"
OVERWRITE_CMD_ANNOTATION = "ray.io/overwrite-container-cmd"
USAGE_TAGS_ENV = "RAY_USAGE_STATS_EXTRA_TAGS"
RAY_IMAGE_REPOS = ("ray", "ray-ml", "ray-llm")

Version = tuple[int, int, int]


# --- small accessors -------------------------------------------------------------------------------

# Fields that are arrays of objects wherever Kubernetes or KubeRay uses the name: `dig` keeps only their
# object items, so a rule iterating them can rely on `.get` whatever a hostile server put there.
OBJECT_ARRAYS = frozenset((
    "containers", "initContainers", "ephemeralContainers", "containerStatuses", "initContainerStatuses", "ports",
    "env", "envFrom", "volumes", "volumeMounts", "conditions", "tolerations", "taints", "imagePullSecrets",
    "ownerReferences", "workerGroupSpecs", "endpoints", "subsets", "ingress", "egress", "ingressRules",
    "egressRules", "from", "to", "sources", "matchExpressions", "nodeSelectorTerms", "items", "managedFields",
    "versions", "resourceClaims", "hostAliases", "topologySpreadConstraints", "limits", "scopeSelector",
))


def dig(obj: Any, *path: Any, default: Any = None) -> Any:
    """obj[a][b]... with None/default for anything missing (ints index lists).

    The typed boundary of the rules: a value whose JSON type is not the default's (a `status: null`, a
    string where an object or array belongs) reads as the default, and an array of objects (OBJECT_ARRAYS)
    keeps only its objects. Rules therefore never see a wrong type where they give a default."""
    cur = obj
    for key in path:
        if isinstance(key, int):
            if not isinstance(cur, list) or not -len(cur) <= key < len(cur):
                return default
            cur = cur[key]
        else:
            if not isinstance(cur, dict) or key not in cur:
                return default
            cur = cur[key]
    if cur is None:
        return default
    if default is not None and type(cur) is not type(default) and not _same_kind(cur, default):
        return default
    if type(cur) is list and path and path[-1] in OBJECT_ARRAYS:
        for item in cur:
            if type(item) is not dict:  # copy only the rare array that holds something else
                return [item for item in cur if type(item) is dict]
    return cur


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(default, dict):
        return type(value) is dict
    if isinstance(default, list):
        return type(value) is list
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return True


def name_of(obj: dict[str, Any] | None) -> str:
    return dig(obj, "metadata", "name", default="")


def namespace_of(obj: dict[str, Any] | None) -> str:
    return dig(obj, "metadata", "namespace", default="")


def labels_of(obj: dict[str, Any] | None) -> dict[str, str]:
    return dig(obj, "metadata", "labels", default={})


def annotations_of(obj: dict[str, Any] | None) -> dict[str, str]:
    return dig(obj, "metadata", "annotations", default={})


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def env_map(container: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """name -> env entry (value or valueFrom) of a container."""
    return {e.get("name", ""): e for e in dig(container, "env", default=[]) if isinstance(e, dict)}


def env_value(container: dict[str, Any] | None, name: str) -> str | None:
    entry = env_map(container).get(name)
    if entry is None:
        return None
    return str(entry.get("value", "")) if "value" in entry or "valueFrom" not in entry else None


def has_env(container: dict[str, Any] | None, name: str) -> bool:
    return name in env_map(container)


def command_text(container: dict[str, Any] | None) -> str:
    parts = [str(p) for p in dig(container, "command", default=[]) + dig(container, "args", default=[])]
    return " ".join(parts)


def age_seconds(snap: Snapshot, timestamp: str | None) -> float | None:
    now, ts = snap.now, parse_timestamp(timestamp)
    if now is None or ts is None:
        return None
    return (now - ts).total_seconds()


def short_age(seconds: float | None) -> str:
    from kubectl_ray.printing import human_duration

    return human_duration(seconds) if seconds is not None else "unknown time"


# --- pods ----------------------------------------------------------------------------------------

def ray_container(pod_or_template_spec: dict[str, Any] | None) -> dict[str, Any]:
    """Container index 0 of a pod, or of a pod template's spec."""
    spec = pod_or_template_spec.get("spec", pod_or_template_spec) if pod_or_template_spec else {}
    containers = dig(spec, "containers", default=[])
    return containers[0] if containers else {}


def container_named(spec: dict[str, Any] | None, name: str, *, init: bool = False) -> dict[str, Any] | None:
    spec = spec.get("spec", spec) if spec else {}
    key = "initContainers" if init else "containers"
    return next((c for c in dig(spec, key, default=[]) if c.get("name") == name), None)


def container_status(pod: dict[str, Any], name: str, *, init: bool = False) -> dict[str, Any] | None:
    key = "initContainerStatuses" if init else "containerStatuses"
    return next((s for s in dig(pod, "status", key, default=[]) if s.get("name") == name), None)


def ray_container_status(pod: dict[str, Any]) -> dict[str, Any] | None:
    name = ray_container(pod).get("name")
    return container_status(pod, name) if name else None


def pod_phase(pod: dict[str, Any]) -> str:
    return dig(pod, "status", "phase", default="Unknown")


def pod_condition(pod: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    return next((c for c in dig(pod, "status", "conditions", default=[]) if c.get("type") == ctype), None)


def pod_ready(pod: dict[str, Any]) -> bool:
    cond = pod_condition(pod, "Ready")
    return bool(cond and cond.get("status") == "True")


def pod_deleting(pod: dict[str, Any]) -> bool:
    return bool(dig(pod, "metadata", "deletionTimestamp"))


def waiting_reason(status: dict[str, Any] | None) -> str:
    return dig(status, "state", "waiting", "reason", default="")


def last_termination(status: dict[str, Any] | None) -> dict[str, Any]:
    return dig(status, "lastState", "terminated", default={})


def current_termination(status: dict[str, Any] | None) -> dict[str, Any]:
    return dig(status, "state", "terminated", default={})


def node_type(pod: dict[str, Any]) -> str:
    return labels_of(pod).get("ray.io/node-type", "")


def group_of(pod: dict[str, Any]) -> str:
    return labels_of(pod).get("ray.io/group", "")


def pod_ref(pod: dict[str, Any]) -> str:
    return f"Pod/{name_of(pod)}"


# --- resources -------------------------------------------------------------------------------------

def resource_quantity(container: dict[str, Any], kind: str, name: str) -> Any:
    """A container's requests/limits entry as a Quantity, or None when unset or malformed."""
    from kubectl_ray.resources.quantity import QuantityError, parse_quantity

    value = dig(container, "resources", kind, name)
    if value is None:
        return None
    try:
        return parse_quantity(value)
    except QuantityError:
        return None


GPU_KEY = re.compile(r"(gpu$)|(^nvidia\.com/mig-\d+g\.\d+gb$)")


def gpu_limits(container: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dig(container, "resources", "limits", default={}).items() if GPU_KEY.search(k)}


def gpu_requests(container: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dig(container, "resources", "requests", default={}).items() if GPU_KEY.search(k)}


# --- versions --------------------------------------------------------------------------------------

_RAY_TAG = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:\.[0-9a-z]+)?(?:-(.*))?$")
_PY_TAG = re.compile(r"^py(\d)(\d+)$")


@dataclass(frozen=True)
class RayImage:
    image: str
    is_ray: bool  # a rayproject/ray, ray-ml or ray-llm image (other images carry their own tags)
    tag: str
    version: Version | None  # Ray version from the tag
    python: str | None  # "3.10" from -py310
    pinned: bool  # False for latest/nightly/no tag

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version)) if self.version else "unknown"


def parse_ray_image(image: str | None) -> RayImage:
    """Ray version and Python from an official image tag: `{ray}[-py3XX][-cpu|-cuXXX|-gpu][-aarch64]`.

    Only rayproject-style repositories (ray, ray-ml, ray-llm) are parsed; other images carry tags
    of their own, so their Ray version is unknown rather than wrong.
    """
    image = image or ""
    name = image.partition("@")[0]
    repo = name.rsplit("/", 1)[-1].partition(":")[0]
    tag = image_tag(image) if image else ""
    bare_tag = tag.partition("@")[0]
    is_ray = repo in RAY_IMAGE_REPOS
    match = _RAY_TAG.match(bare_tag) if is_ray else None
    version = (int(match.group(1)), int(match.group(2)), int(match.group(3))) if match else None
    python = None
    for part in (match.group(4) or "").split("-") if match else []:
        py = _PY_TAG.match(part)
        if py:
            python = f"{py.group(1)}.{py.group(2)}"
    unpinned = bare_tag in ("", "latest") or bare_tag.startswith("nightly")
    return RayImage(image, is_ray, tag, version, python, not unpinned)


def parse_ray_version(text: Any) -> Version | None:
    if not isinstance(text, str) or not text.strip():
        return None
    match = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def vtext(version: Version | None) -> str:
    return ".".join(map(str, version)) if version else "unknown"


# --- the operator ----------------------------------------------------------------------------------

# Feature-gate defaults per KubeRay minor version (diagnostics.md OP-06): gate -> [(first version, default)].
GATE_DEFAULTS: dict[str, list[tuple[Version, bool]]] = {
    "RayClusterStatusConditions": [((1, 2, 0), False), ((1, 3, 0), True)],
    "RayJobDeletionPolicy": [((1, 3, 0), False), ((1, 6, 0), True)],
    "RayMultiHostIndexing": [((1, 5, 0), False), ((1, 6, 0), True)],
    "RayServiceIncrementalUpgrade": [((1, 5, 0), False), ((1, 7, 0), True)],
    "RayCronJob": [((1, 6, 0), False)],
    "SidecarSubmitterRestart": [((1, 7, 0), False)],
    "RayClusterNetworkPolicy": [((1, 7, 0), False)],
    "RayClusterMTLS": [((1, 7, 0), False)],
    "RayClusterHistoryServer": [((1, 7, 0), False)],
    "GCSFaultToleranceEmbeddedStorage": [((1, 7, 0), False)],
    "KubernetesWAS": [((1, 7, 0), False)],
}
NEWEST_OPERATOR: Version = (1, 7, 0)


@dataclass
class Operator:
    version_text: str  # as found: v1.7.0, nightly, a SHA
    source: str  # deployment | head-pod-env
    namespace: str = ""
    name: str = ""
    image: str = ""
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    replicas: int | None = None
    available: int | None = None
    deployment: dict[str, Any] | None = None

    @property
    def version(self) -> Version | None:
        return parse_version(self.version_text)

    @property
    def effective_version(self) -> Version:
        """The version whose behaviour to assume: unknown tags (nightly, SHA) count as the newest."""
        return self.version or NEWEST_OPERATOR

    @property
    def ref(self) -> str:
        return f"Deployment/{self.name}" if self.source == "deployment" else f"Pod/{self.name}"

    def flag(self, name: str) -> str | None:
        """Value of `--name=value` or `--name value` in the operator's args."""
        for i, arg in enumerate(self.args):
            if arg == f"--{name}" and i + 1 < len(self.args):
                return self.args[i + 1]
            if arg.startswith(f"--{name}="):
                return arg.split("=", 1)[1]
        return None

    def explicit_gates(self) -> dict[str, bool]:
        gates: dict[str, bool] = {}
        raw = self.flag("feature-gates") or ""
        for item in raw.split(","):
            key, _, value = item.partition("=")
            if key.strip():
                gates[key.strip()] = value.strip().lower() == "true"
        return gates

    def gate(self, name: str) -> bool | None:
        """Whether a feature gate is on; None when this operator version has no such gate."""
        explicit = self.explicit_gates()
        if name in explicit:
            return explicit[name]
        steps = [(v, on) for v, on in GATE_DEFAULTS.get(name, []) if v <= self.effective_version]
        return steps[-1][1] if steps else None

    def watched_namespaces(self) -> list[str] | None:
        """Namespaces the operator watches; None means all."""
        raw = self.flag("watch-namespace")
        if raw is None:
            raw = self.env.get("WATCH_NAMESPACE")
        names = [n.strip() for n in (raw or "").split(",") if n.strip()]
        return names or None


def operators(snap: Snapshot) -> list[Operator]:
    """KubeRay operator Deployments seen (sorted), else the version a head pod's env names."""
    found = [op for dep in sorted(snap.items("deployments"), key=lambda d: (namespace_of(d), name_of(d)))
             if (op := _operator_from_deployment(dep)) is not None]
    if found:
        return found
    for pod in snap.items("pods"):
        if node_type(pod) != "head":
            continue
        for container in dig(pod, "spec", "containers", default=[]):
            tags = env_value(container, USAGE_TAGS_ENV) or ""
            for part in tags.split(";"):
                key, _, val = part.partition("=")
                if key.strip() == "kuberay_version" and val.strip():
                    return [Operator(val.strip(), "head-pod-env", namespace_of(pod), name_of(pod))]
    return []


def operator(snap: Snapshot) -> Operator | None:
    ops = operators(snap)
    return ops[0] if ops else None


def operator_for_namespace(snap: Snapshot, namespace: str) -> Operator | None:
    """The operator responsible for a namespace: one watching it explicitly, else one watching all."""
    ops = [op for op in operators(snap) if op.source == "deployment"]
    for op in ops:
        watched = op.watched_namespaces()
        if watched and namespace in watched:
            return op
    for op in ops:
        if op.watched_namespaces() is None:
            return op
    return operator(snap)


def _operator_from_deployment(dep: dict[str, Any]) -> Operator | None:
    containers = dig(dep, "spec", "template", "spec", "containers", default=[])
    if not containers:
        return None
    container = next((c for c in containers if c.get("name") == "kuberay-operator"), None)
    if container is None:
        container = next((c for c in containers if str(c.get("image", "")).partition("@")[0].rsplit(":", 1)[0].endswith("/operator")),
                         containers[0])
    image = str(container.get("image", ""))
    env = {e.get("name", ""): str(e.get("value", "")) for e in dig(container, "env", default=[]) if "value" in e}
    return Operator(
        version_text=image_tag(image), source="deployment", namespace=namespace_of(dep), name=name_of(dep),
        image=image, args=[str(a) for a in dig(container, "command", default=[]) + dig(container, "args", default=[])],
        env=env, replicas=dig(dep, "spec", "replicas", default=1), available=dig(dep, "status", "availableReplicas", default=0),
        deployment=dep,
    )


# --- clusters --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WorkerGroup:
    index: int
    name: str
    spec: dict[str, Any]
    path: str  # e.g. spec.workerGroupSpecs[0]

    @property
    def template_spec(self) -> dict[str, Any]:
        return dig(self.spec, "template", "spec", default={})

    @property
    def ray_container(self) -> dict[str, Any]:
        return ray_container(self.template_spec)

    @property
    def params(self) -> dict[str, Any]:
        return dig(self.spec, "rayStartParams", default={})


@dataclass
class ClusterView:
    """One RayCluster as the rules see it: the live object, or the spec embedded in a RayJob/RayService."""

    snap: Snapshot
    name: str
    namespace: str
    obj: dict[str, Any] | None  # the RayCluster object, None when only an embedded spec exists
    spec: dict[str, Any]
    spec_path: str  # "spec", "spec.rayClusterSpec", "spec.rayClusterConfig"
    owner: TargetRef
    role: str = "cluster"  # cluster | job | active | pending | embedded

    @property
    def ref(self) -> str:
        return f"RayCluster/{self.name}" if self.obj is not None else f"{self.owner.kind}/{self.owner.name}"

    @property
    def exists(self) -> bool:
        return self.obj is not None

    def path(self, *parts: str) -> str:
        return ".".join([self.spec_path, *parts])

    @property
    def status(self) -> dict[str, Any]:
        return dig(self.obj, "status", default={})

    @property
    def annotations(self) -> dict[str, str]:
        return annotations_of(self.obj)

    def condition(self, ctype: str) -> dict[str, Any] | None:
        return next((c for c in dig(self.status, "conditions", default=[]) if c.get("type") == ctype), None)

    # spec
    @property
    def head_spec(self) -> dict[str, Any]:
        return dig(self.spec, "headGroupSpec", default={})

    @property
    def head_template_spec(self) -> dict[str, Any]:
        return dig(self.head_spec, "template", "spec", default={})

    @property
    def head_container(self) -> dict[str, Any]:
        return ray_container(self.head_template_spec)

    @property
    def head_params(self) -> dict[str, Any]:
        return dig(self.head_spec, "rayStartParams", default={})

    @cached_property
    def groups(self) -> list[WorkerGroup]:
        return [WorkerGroup(i, str(g.get("groupName", f"#{i}")), g, self.path(f"workerGroupSpecs[{i}]"))
                for i, g in enumerate(dig(self.spec, "workerGroupSpecs", default=[])) if isinstance(g, dict)]

    @property
    def autoscaling(self) -> bool:
        return is_true(self.spec.get("enableInTreeAutoscaling"))

    @property
    def ft_enabled(self) -> bool:
        return is_true(self.annotations.get(FT_ANNOTATION)) or self.spec.get("gcsFaultToleranceOptions") is not None

    @property
    def ray_version(self) -> Version | None:
        return parse_ray_version(self.spec.get("rayVersion"))

    @property
    def suspended(self) -> bool:
        return is_true(self.spec.get("suspend"))

    @property
    def deleting(self) -> bool:
        return bool(dig(self.obj, "metadata", "deletionTimestamp"))

    def ray_images(self) -> list[tuple[str, str, RayImage]]:
        """(label, field path, image) for the Ray container of the head and every group."""
        out = [("head", self.path("headGroupSpec.template.spec.containers[0].image"), parse_ray_image(self.head_container.get("image")))]
        for g in self.groups:
            out.append((f"group {g.name}", f"{g.path}.template.spec.containers[0].image", parse_ray_image(g.ray_container.get("image"))))
        return out

    # pods
    @cached_property
    def pods(self) -> list[dict[str, Any]]:
        if self.obj is None:
            return []
        return self.snap.pods_of_cluster(self.namespace, self.name)

    @cached_property
    def head_pods(self) -> list[dict[str, Any]]:
        return [p for p in self.pods if node_type(p) == "head"]

    @cached_property
    def head_pod(self) -> dict[str, Any] | None:
        """The current head pod: a live one before one being deleted, the newest first."""
        pods = sorted(self.head_pods, key=lambda p: (not pod_deleting(p), dig(p, "metadata", "creationTimestamp", default="")))
        return pods[-1] if pods else None

    @cached_property
    def worker_pods(self) -> list[dict[str, Any]]:
        return [p for p in self.pods if node_type(p) == "worker"]

    def group_pods(self, group: str) -> list[dict[str, Any]]:
        return [p for p in self.worker_pods if group_of(p) == group]

    @property
    def head_ready(self) -> bool:
        return self.head_pod is not None and pod_ready(self.head_pod) and not pod_deleting(self.head_pod)

    # services
    @property
    def head_service_name(self) -> str:
        return (dig(self.status, "head", "serviceName", default="")
                or dig(self.head_spec, "headService", "metadata", "name", default="")
                or f"{self.name}-head-svc")

    # events
    def events(self) -> list[dict[str, Any]]:
        if self.obj is None:
            return self.snap.events_for(self.namespace, self.owner.kind, self.owner.name)
        return self.snap.events_for(self.namespace, "RayCluster", self.name)

    def pod_events(self, pod: dict[str, Any]) -> list[dict[str, Any]]:
        return self.snap.events_for(self.namespace, "Pod", name_of(pod))


def target_object(snap: Snapshot, target: TargetRef | None = None) -> dict[str, Any] | None:
    target = target or snap.target
    return snap.get(target.plural, target.namespace, target.name)


def clusters(snap: Snapshot) -> list[ClusterView]:
    """The RayClusters behind the snapshot's target (a RayJob has one, a RayService up to two)."""
    key = ("clusters", snap.target)
    if key in snap._index:
        return snap._index[key]
    views = _build_clusters(snap, snap.target)
    snap._index[key] = views
    return views


def _build_clusters(snap: Snapshot, target: TargetRef) -> list[ClusterView]:
    obj = target_object(snap, target)
    if obj is None:
        return []
    ns = target.namespace
    if target.kind == "RayCluster":
        return [ClusterView(snap, target.name, ns, obj, dig(obj, "spec", default={}), "spec", target)]
    if target.kind == "RayJob":
        name = dig(obj, "status", "rayClusterName") or dig(obj, "spec", "clusterSelector", "ray.io/cluster")
        cluster = snap.get("rayclusters", ns, name) if name else None
        if cluster is not None:
            return [ClusterView(snap, name, ns, cluster, dig(cluster, "spec", default={}), "spec", target, "job")]
        embedded = dig(obj, "spec", "rayClusterSpec")
        if embedded:
            return [ClusterView(snap, name or target.name, ns, None, embedded, "spec.rayClusterSpec", target, "embedded")]
        return []
    views = []
    for role, key in (("active", "activeServiceStatus"), ("pending", "pendingServiceStatus")):
        name = dig(obj, "status", key, "rayClusterName")
        cluster = snap.get("rayclusters", ns, name) if name else None
        if cluster is not None:
            views.append(ClusterView(snap, name, ns, cluster, dig(cluster, "spec", default={}), "spec", target, role))
    if not views:
        embedded = dig(obj, "spec", "rayClusterConfig")
        if embedded:
            views.append(ClusterView(snap, target.name, ns, None, embedded, "spec.rayClusterConfig", target, "embedded"))
    return views


def events_matching(events: Iterable[dict[str, Any]], reasons: Iterable[str]) -> list[dict[str, Any]]:
    wanted = set(reasons)
    return [e for e in events if isinstance(e.get("reason"), str) and e["reason"] in wanted]


def latest(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    def when(e: dict[str, Any]) -> str:
        return str(e.get("lastTimestamp") or e.get("eventTime") or dig(e, "metadata", "creationTimestamp", default=""))

    return max(events, key=when) if events else None



# --- objects a spec names ----------------------------------------------------------------------------

REFERENCE_KINDS = ("secrets", "configmaps", "persistentvolumeclaims", "serviceaccounts", "priorityclasses", "services")
ADDRESS_ENVS = ("RAY_REDIS_ADDRESS", "RAY_ADDRESS")


@dataclass
class References:
    """Names a set of pod templates and cluster specs refer to, by kind, each with where it was named."""

    names: dict[str, dict[str, str]] = field(default_factory=lambda: {k: {} for k in REFERENCE_KINDS})

    def add(self, kind: str, name: Any, where: str) -> None:
        if isinstance(name, str) and name and not name.startswith("$"):
            self.names[kind].setdefault(name, where)

    def of(self, kind: str) -> dict[str, str]:
        return self.names[kind]


def pod_spec_references(spec: dict[str, Any], where: str, refs: References) -> None:
    """Secrets, ConfigMaps, PVCs, ServiceAccount, PriorityClass and Services (by address) a pod spec names."""
    refs.add("serviceaccounts", spec.get("serviceAccountName"), f"{where}.serviceAccountName")
    refs.add("priorityclasses", spec.get("priorityClassName"), f"{where}.priorityClassName")
    for i, secret in enumerate(dig(spec, "imagePullSecrets", default=[])):
        refs.add("secrets", dig(secret, "name"), f"{where}.imagePullSecrets[{i}]")
    for vol in dig(spec, "volumes", default=[]):
        vname = vol.get("name", "?")
        refs.add("secrets", dig(vol, "secret", "secretName"), f"{where}.volumes[{vname}].secret")
        refs.add("configmaps", dig(vol, "configMap", "name"), f"{where}.volumes[{vname}].configMap")
        refs.add("persistentvolumeclaims", dig(vol, "persistentVolumeClaim", "claimName"),
                 f"{where}.volumes[{vname}].persistentVolumeClaim")
        for src in dig(vol, "projected", "sources", default=[]):
            refs.add("secrets", dig(src, "secret", "name"), f"{where}.volumes[{vname}].projected")
            refs.add("configmaps", dig(src, "configMap", "name"), f"{where}.volumes[{vname}].projected")
    for key in ("initContainers", "containers"):
        for c in dig(spec, key, default=[]):
            cwhere = f"{where}.{key}[{c.get('name', '?')}]"
            for env in dig(c, "env", default=[]):
                refs.add("secrets", dig(env, "valueFrom", "secretKeyRef", "name"), f"{cwhere}.env[{env.get('name')}]")
                refs.add("configmaps", dig(env, "valueFrom", "configMapKeyRef", "name"), f"{cwhere}.env[{env.get('name')}]")
                if env.get("name") in ADDRESS_ENVS and isinstance(env.get("value"), str):
                    refs.add("services", service_host(env["value"]), f"{cwhere}.env[{env.get('name')}]")
            for src in dig(c, "envFrom", default=[]):
                refs.add("secrets", dig(src, "secretRef", "name"), f"{cwhere}.envFrom")
                refs.add("configmaps", dig(src, "configMapRef", "name"), f"{cwhere}.envFrom")


def cluster_references(spec: dict[str, Any], path: str, refs: References) -> None:
    """What a RayCluster spec (or one embedded in a RayJob/RayService) names."""
    head = dig(spec, "headGroupSpec", "template", "spec", default={})
    pod_spec_references(head, f"{path}.headGroupSpec.template.spec", refs)
    for i, group in enumerate(dig(spec, "workerGroupSpecs", default=[])):
        if isinstance(group, dict):
            pod_spec_references(dig(group, "template", "spec", default={}), f"{path}.workerGroupSpecs[{i}].template.spec", refs)
    ft = dig(spec, "gcsFaultToleranceOptions", default={})
    refs.add("services", service_host(ft.get("redisAddress")), f"{path}.gcsFaultToleranceOptions.redisAddress")
    for key in ("redisPassword", "redisUsername"):
        refs.add("secrets", dig(ft, key, "valueFrom", "secretKeyRef", "name"), f"{path}.gcsFaultToleranceOptions.{key}")
    refs.add("persistentvolumeclaims", dig(ft, "storage", "claimName"), f"{path}.gcsFaultToleranceOptions.storage.claimName")
    refs.add("secrets", dig(spec, "authOptions", "secretName"), f"{path}.authOptions.secretName")


_IP = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


def service_host(address: Any) -> str | None:
    """The in-cluster Service an address names (`redis:6379`, `redis://:pw@redis.ns.svc:6379`), else None.

    Only names that can only be Services are returned: a bare name, or one ending in `.svc` or
    `.svc.<domain>` (then `name` when it lives in another namespace is returned as `name.namespace`).
    Hosts with dots otherwise (external Redis, IPs) are not Services of this cluster.
    """
    if not isinstance(address, str) or not address.strip() or "$" in address:
        return None
    text = address.strip().split(",")[0]  # a Sentinel/cluster list: the first is enough
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = text.rsplit("@", 1)[-1].split("/")[0]
    host = text.rsplit(":", 1)[0] if text.count(":") == 1 else text
    if not host or _IP.match(host):
        return None
    labels = host.split(".")
    if len(labels) == 1:
        return host
    if len(labels) >= 3 and labels[2] == "svc":
        return f"{labels[0]}.{labels[1]}"
    return None
