"""Rows for the `get` tables: pure functions from API objects (dicts) to tuples of strings.

Every row starts with the object's namespace; the printer drops that cell unless -A asked for a
NAMESPACE column. Columns marked `wide` appear only with `-o wide`. Nothing here does I/O or reads
the clock: ages are computed against the `at` each caller passes in.

Resource math follows KubeRay: CPU, memory and TPU (`google.com/tpu`) by name; GPUs are every
resource whose name ends in `gpu` (`nvidia.com/gpu`, `amd.com/gpu`, ...), as the operator sums them
for `status.desiredGPU`.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

from kubectl_ray.printing import age, human_duration, parse_timestamp
from kubectl_ray.resources.quantity import Quantity, QuantityError, parse_quantity
from kubectl_ray.shapes import EMPTY

Row = tuple[str, ...]

MAX_INT32 = 2147483647
_INT64 = 2**63  # counts outside int64 are garbage: read as the default, never multiplied into huge numbers
TPU_RESOURCE = "google.com/tpu"
CLUSTER_LABEL = "ray.io/cluster"
GROUP_LABEL = "ray.io/group"
NODE_TYPE_LABEL = "ray.io/node-type"
IS_RAY_NODE_LABEL = "ray.io/is-ray-node"

# RayCluster conditions in the order upstream picks "the relevant one" (the first that is True).
RELEVANT_CLUSTER_CONDITIONS = ("RayClusterProvisioned", "HeadPodReady", "ReplicaFailure", "RayClusterSuspended",
                               "RayClusterSuspending")


class Column(NamedTuple):  # NamedTuples, not dataclasses: quicker to define at start-up
    header: str
    wide: bool = False  # shown only with -o wide (a CRD printer column of priority 1)


class TableSpec(NamedTuple):
    """The columns of one `get` table, NAMESPACE excluded (rows carry it as their first cell)."""

    columns: tuple[Column, ...]

    def layout(self, *, wide: bool, all_namespaces: bool) -> tuple[list[str], list[int]]:
        """Headers to print and the row indexes they come from."""
        headers, picks = (["NAMESPACE"], [0]) if all_namespaces else ([], [])
        for index, column in enumerate(self.columns, start=1):
            if wide or not column.wide:
                headers.append(column.header)
                picks.append(index)
        return headers, picks


CLUSTER_TABLE = TableSpec((
    Column("NAME"), Column("DESIRED WORKERS"), Column("AVAILABLE WORKERS"), Column("CPUS"), Column("GPUS"),
    Column("TPUS"), Column("MEMORY"), Column("CONDITION"), Column("STATUS"), Column("AGE"),
    Column("HEAD POD IP", wide=True), Column("HEAD SERVICE IP", wide=True),
))
WORKER_GROUP_TABLE = TableSpec((
    Column("NAME"), Column("MIN"), Column("MAX"), Column("REPLICAS"), Column("CPUS"), Column("GPUS"), Column("TPUS"),
    Column("MEMORY"), Column("CLUSTER"), Column("HOSTS", wide=True), Column("SUSPENDED", wide=True),
    Column("IMAGE", wide=True),
))
NODE_TABLE = TableSpec((
    Column("NAME"), Column("CPUS"), Column("GPUS"), Column("TPUS"), Column("MEMORY"), Column("CLUSTER"),
    Column("TYPE"), Column("WORKER GROUP"), Column("AGE"), Column("STATUS", wide=True),
    Column("RESTARTS", wide=True), Column("IP", wide=True), Column("NODE", wide=True),
))
JOB_TABLE = TableSpec((
    Column("NAME"), Column("JOB ID"), Column("JOB STATUS"), Column("DEPLOYMENT STATUS"), Column("CLUSTER"),
    Column("START"), Column("END/DURATION"), Column("AGE"), Column("END", wide=True),
    Column("SUBMISSION MODE", wide=True), Column("MESSAGE", wide=True),
))
SERVICE_TABLE = TableSpec((
    Column("NAME"), Column("SERVICE STATUS"), Column("ACTIVE CLUSTER"), Column("PENDING CLUSTER"), Column("AGE"),
    Column("SERVE ENDPOINTS", wide=True), Column("REASON", wide=True),
))


# --- small accessors ------------------------------------------------------------------------
# Objects reach this module as dicts (the client checks every list item); the fields inside may be of
# any type, so every read goes through these (a field of the wrong type reads as absent).

def _dict(value: Any) -> Mapping[str, Any]:
    return value if type(value) is dict else EMPTY


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    """The objects of an array (the rest, and anything that is not an array, are skipped)."""
    return [item for item in value if type(item) is dict] if type(value) is list else []


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _dict(obj.get("metadata"))


def _status(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _dict(obj.get("status"))


def _text(value: Any) -> str:
    """A cell: None, objects and arrays are empty, whitespace collapsed so a message cannot break the table."""
    if type(value) is str:
        return " ".join(value.split())
    if value is None or type(value) is dict or type(value) is list:
        return ""
    return " ".join(str(value).split())


def _int(value: Any, default: int = 0) -> int:
    """An integer field: an int, or a string of one ("3", which a CRD without a schema lets through)."""
    if type(value) is str and len(value) <= 20:
        try:
            value = int(value)
        except ValueError:
            return default
    return value if type(value) is int and -_INT64 <= value < _INT64 else default  # type(): a bool is no count


def quantity_text(value: Any) -> str:
    """A status quantity as Quantity.String() prints it; absent is `0`, garbage is shown as is."""
    if value in (None, ""):
        return "0"
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return _canonical_quantity(value)  # the same few values repeat across thousands of rows
    return _canonical_uncached(value)


@lru_cache(maxsize=4096)
def _canonical_quantity(value: str | int) -> str:
    return _canonical_uncached(value)


def _canonical_uncached(value: Any) -> str:
    try:
        return str(parse_quantity(value))
    except QuantityError:
        return _text(value)


def condition(obj: Mapping[str, Any], type_: str) -> Mapping[str, Any] | None:
    for cond in _dicts(_status(obj).get("conditions")):
        if cond.get("type") == type_:
            return cond
    return None


def _is_true(cond: Mapping[str, Any] | None) -> bool:
    return bool(cond) and cond.get("status") == "True"  # type: ignore[union-attr]


def relevant_cluster_condition(cluster: Mapping[str, Any]) -> str:
    """The first True condition of RayClusterProvisioned > HeadPodReady > ReplicaFailure >
    RayClusterSuspended > RayClusterSuspending, as upstream's CONDITION column; else empty."""
    for type_ in RELEVANT_CLUSTER_CONDITIONS:
        if _is_true(condition(cluster, type_)):
            return type_
    return ""


# --- RayClusters ------------------------------------------------------------------------------

def cluster_row(cluster: Mapping[str, Any], at: datetime) -> Row:
    meta, status = _meta(cluster), _status(cluster)
    head = _dict(status.get("head"))
    return (
        _text(meta.get("namespace")),
        _text(meta.get("name")),
        _count(status.get("desiredWorkerReplicas")),
        _count(status.get("availableWorkerReplicas")),
        quantity_text(status.get("desiredCPU")),
        quantity_text(status.get("desiredGPU")),
        quantity_text(status.get("desiredTPU")),
        quantity_text(status.get("desiredMemory")),
        _relevant_condition(status),
        _text(status.get("state")),
        age(meta.get("creationTimestamp"), at),
        _text(head.get("podIP")),
        _text(head.get("serviceIP")),
    )


def _count(value: Any) -> str:
    return str(value) if type(value) is int else str(_int(value))


def _relevant_condition(status: Mapping[str, Any]) -> str:
    """relevant_cluster_condition with one pass over the conditions (this runs for every row of a list)."""
    conditions = status.get("conditions")
    if not conditions or type(conditions) is not list:
        return ""
    first: dict[str, Any] = {}
    for cond in conditions:
        if type(cond) is dict and type(ctype := cond.get("type")) is str:  # a hostile `type` is no condition
            first.setdefault(ctype, cond)
    for type_ in RELEVANT_CLUSTER_CONDITIONS:
        if _is_true(first.get(type_)):
            return type_
    return ""


# --- resource math ----------------------------------------------------------------------------

class Resources(NamedTuple):
    cpu: Quantity
    gpu: Quantity
    tpu: Quantity
    memory: Quantity

    def times(self, factor: int) -> "Resources":
        return Resources(self.cpu * factor, self.gpu * factor, self.tpu * factor, self.memory * factor)

    def cells(self) -> tuple[str, str, str, str]:
        return str(self.cpu), str(self.gpu), str(self.tpu), str(self.memory)


def _zero(binary: bool = False) -> Quantity:
    return Quantity(0, binary)


NO_RESOURCES = Resources(_zero(), _zero(), _zero(), _zero(binary=True))


def _quantity_or_zero(value: Any) -> Quantity:
    try:
        return parse_quantity(value)
    except QuantityError:
        return _zero()


def _add(total: Quantity | None, value: Quantity) -> Quantity:
    return value if total is None else total + value


def summarize(amounts: Mapping[str, Quantity]) -> Resources:
    """CPU, GPU (every `*gpu` name), TPU and memory out of a resource-name -> quantity map."""
    gpu: Quantity | None = None
    for name, amount in amounts.items():
        if name.lower().endswith("gpu"):
            gpu = _add(gpu, amount)
    return Resources(
        amounts.get("cpu") or _zero(),
        gpu or _zero(),
        amounts.get(TPU_RESOURCE) or _zero(),
        amounts.get("memory") or _zero(binary=True),
    )


def container_amounts(container: Mapping[str, Any]) -> dict[str, Quantity]:
    """A container's requests, with limits filling the names it does not request (the API server
    defaults a missing request to its limit)."""
    resources = _dict(container.get("resources"))
    merged: dict[str, Any] = dict(_dict(resources.get("limits")))
    merged.update(_dict(resources.get("requests")))
    return {name: _quantity_or_zero(value) for name, value in merged.items()}


def pod_amounts(pod_spec: Mapping[str, Any]) -> dict[str, Quantity]:
    """What one pod asks for: the sum over its containers (init containers run before, not beside)."""
    totals: dict[str, Quantity] = {}
    for container in _dicts(pod_spec.get("containers")):
        for name, amount in container_amounts(container).items():
            totals[name] = _add(totals.get(name), amount)
    return totals


def group_pod_count(group: Mapping[str, Any]) -> int:
    """Pods a worker group wants: replicas x numOfHosts (multi-host TPU slices have several pods
    per replica; upstream forgot numOfHosts)."""
    return max(_int(group.get("replicas")), 0) * max(_int(group.get("numOfHosts"), 1), 1)


def group_resources(group: Mapping[str, Any]) -> Resources:
    """Total resources of a worker group; a suspended group asks for nothing."""
    if group.get("suspend") is True:
        return NO_RESOURCES
    pod_spec = _dict(_dict(group.get("template")).get("spec"))
    return summarize(pod_amounts(pod_spec)).times(group_pod_count(group))


# --- worker groups ----------------------------------------------------------------------------

GroupKey = tuple[str, str, str]  # (namespace, cluster, group)


def is_running_and_ready(pod: Mapping[str, Any]) -> bool:
    """Upstream's readiness: phase Running and condition Ready=True."""
    status = _status(pod)
    if status.get("phase") != "Running":
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in _dicts(status.get("conditions")))


def count_ready_workers(pods: Iterable[Mapping[str, Any]], into: dict[GroupKey, int]) -> None:
    """Add the ready worker pods of one page to per-group counters (so pages can be dropped)."""
    for pod in pods:
        meta = _meta(pod)
        labels = _dict(meta.get("labels"))
        if labels.get(NODE_TYPE_LABEL) != "worker" or not is_running_and_ready(pod):
            continue
        key = (_text(meta.get("namespace")), _text(labels.get(CLUSTER_LABEL)), _text(labels.get(GROUP_LABEL)))
        into[key] = into.get(key, 0) + 1


def worker_groups(cluster: Mapping[str, Any], group: str | None = None) -> list[Mapping[str, Any]]:
    groups = _dicts(_dict(cluster.get("spec")).get("workerGroupSpecs"))
    return [g for g in groups if group is None or g.get("groupName") == group]


def group_image(group: Mapping[str, Any]) -> str:
    containers = _dict(_dict(group.get("template")).get("spec")).get("containers")
    first = containers[0] if type(containers) is list and containers else None
    return _text(first.get("image")) if type(first) is dict else ""


def worker_group_row(namespace: str, cluster: str, group: Mapping[str, Any], ready: int) -> Row:
    hosts = max(_int(group.get("numOfHosts"), 1), 1)
    return (
        namespace,
        _text(group.get("groupName")),
        str(_int(group.get("minReplicas"), 0)),
        str(_int(group.get("maxReplicas"), MAX_INT32)),
        f"{ready}/{group_pod_count(group)}",
        *group_resources(group).cells(),
        cluster,
        str(hosts),
        "true" if group.get("suspend") is True else "false",
        group_image(group),
    )


def worker_group_object(namespace: str, cluster: str, group: Mapping[str, Any], ready: int) -> dict[str, Any]:
    """A worker group for -o json/yaml: the spec as in the RayCluster plus what the table computes."""
    cpu, gpu, tpu, memory = group_resources(group).cells()
    return {
        "namespace": namespace,
        "cluster": cluster,
        "name": group.get("groupName", ""),
        "minReplicas": _int(group.get("minReplicas"), 0),
        "maxReplicas": _int(group.get("maxReplicas"), MAX_INT32),
        "replicas": _int(group.get("replicas")),
        "numOfHosts": max(_int(group.get("numOfHosts"), 1), 1),
        "readyPods": ready,
        "desiredPods": group_pod_count(group),
        "resources": {"cpu": cpu, "gpu": gpu, "tpu": tpu, "memory": memory},
        "spec": dict(group),
    }


def worker_group_object_row(obj: Mapping[str, Any], at: datetime) -> Row:
    """The table row of a worker_group_object (what `get workergroup` sorts and prints)."""
    return worker_group_row(_text(obj.get("namespace")), _text(obj.get("cluster")), _dict(obj.get("spec")),
                            _int(obj.get("readyPods")))


# --- Ray nodes (pods) -------------------------------------------------------------------------

def pod_status_text(pod: Mapping[str, Any]) -> str:
    """A short STATUS like kubectl's: Terminating, a waiting/terminated reason, else the phase."""
    if _meta(pod).get("deletionTimestamp"):
        return "Terminating"
    status = _status(pod)
    for cs in _dicts(status.get("containerStatuses")):
        state = _dict(cs.get("state"))
        for key in ("waiting", "terminated"):
            reason = _dict(state.get(key)).get("reason")
            if reason and (cell := _text(reason)):
                return cell
    return _text(status.get("phase")) or "Unknown"


def node_row(pod: Mapping[str, Any], at: datetime) -> Row:
    meta = _meta(pod)
    labels = _dict(meta.get("labels"))
    spec = _dict(pod.get("spec"))
    containers = spec.get("containers")
    first = containers[0] if type(containers) is list and containers else None
    ray_container = first if type(first) is dict else EMPTY
    resources = summarize(container_amounts(ray_container))  # upstream: the Ray container only
    status = _status(pod)
    restarts = sum(_int(cs.get("restartCount")) for cs in _dicts(status.get("containerStatuses")))
    return (
        _text(meta.get("namespace")),
        _text(meta.get("name")),
        *resources.cells(),
        _text(labels.get(CLUSTER_LABEL)),
        _text(labels.get(NODE_TYPE_LABEL)),
        _text(labels.get(GROUP_LABEL)),
        age(meta.get("creationTimestamp"), at),
        pod_status_text(pod),
        str(restarts),
        _text(status.get("podIP")) or "<none>",
        _text(spec.get("nodeName")) or "<none>",
    )


# --- RayJobs ----------------------------------------------------------------------------------

def job_cluster(job: Mapping[str, Any]) -> str:
    """The RayCluster a job runs on: from status, else the existing cluster it selects."""
    name = _status(job).get("rayClusterName")
    if name:
        return _text(name)
    return _text(_dict(_dict(job.get("spec")).get("clusterSelector")).get(CLUSTER_LABEL))


def job_duration(job: Mapping[str, Any], at: datetime) -> str:
    """How long the job ran: start to end, or start to now while it has no end."""
    status = _status(job)
    start = parse_timestamp(status.get("startTime"))
    if start is None:
        return ""
    end = parse_timestamp(status.get("endTime")) or at
    return human_duration((end - start).total_seconds())


def job_row(job: Mapping[str, Any], at: datetime) -> Row:
    meta, status, spec = _meta(job), _status(job), _dict(job.get("spec"))
    return (
        _text(meta.get("namespace")),
        _text(meta.get("name")),
        _text(status.get("jobId") or spec.get("jobId")),
        _text(status.get("jobStatus")),
        _text(status.get("jobDeploymentStatus")),
        job_cluster(job),
        _text(status.get("startTime")),
        job_duration(job, at),
        age(meta.get("creationTimestamp"), at),
        _text(status.get("endTime")),
        _text(spec.get("submissionMode") or "K8sJobMode"),
        _text(status.get("message")),
    )


# --- RayServices ------------------------------------------------------------------------------

def service_status(service: Mapping[str, Any]) -> str:
    """Ready/NotReady from the Ready condition (KubeRay >= 1.3), `, Upgrading` while an upgrade
    runs; older operators only set status.serviceStatus."""
    ready = condition(service, "Ready")
    if ready is None:
        return _text(_status(service).get("serviceStatus"))
    text = "Ready" if _is_true(ready) else "NotReady"
    if _is_true(condition(service, "UpgradeInProgress")):
        text += ", Upgrading"
    return text


def service_row(service: Mapping[str, Any], at: datetime) -> Row:
    meta, status = _meta(service), _status(service)
    ready = condition(service, "Ready") or {}
    endpoints = status.get("numServeEndpoints")
    return (
        _text(meta.get("namespace")),
        _text(meta.get("name")),
        service_status(service),
        _text(_dict(status.get("activeServiceStatus")).get("rayClusterName")),
        _text(_dict(status.get("pendingServiceStatus")).get("rayClusterName")),
        age(meta.get("creationTimestamp"), at),
        "" if endpoints is None else str(_int(endpoints)),
        _text(ready.get("reason")),
    )


def pick(rows: Iterable[Row], indexes: Sequence[int]) -> list[list[str]]:
    return [[row[i] for i in indexes] for row in rows]
