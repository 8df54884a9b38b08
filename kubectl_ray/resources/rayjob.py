"""RayJob objects for `kubectl ray job submit`: generated from flags, or taken from a file and checked.

Pure: options and documents in, dicts out; no I/O, clock or randomness (the submission id is
chosen by the caller). The cluster part is the create-cluster builder's
(`kubectl_ray.resources.cluster.build_cluster_spec`), never a second one.

Every RayJob we send is `submissionMode: InteractiveMode` (KubeRay creates the cluster and waits;
we submit through the dashboard) with `spec.jobId` = the submission id chosen up front, and
`spec.entrypoint` mirrored (KubeRay 1.2.x rejects an InteractiveMode RayJob without it, kuberay#3126).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from kubectl_ray.errors import UsageError
from kubectl_ray.parsing import validate_name
from kubectl_ray.resources.cluster import ClusterOptions, build_cluster_spec, validate_cluster_options

API_VERSION = "ray.io/v1"
KIND = "RayJob"
INTERACTIVE_MODE = "InteractiveMode"
MAX_RAYJOB_NAME_LENGTH = 47  # KubeRay >= 1.4 rejects longer RayJob names
INT32_MAX = 2147483647
TTL_FLAG = "--ttl-seconds-after-finished"
# Fields the API server sets; a file saved with `kubectl get -o yaml` carries them and create would fail.
_SERVER_METADATA = ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink",
                    "deletionTimestamp", "deletionGracePeriodSeconds")


@dataclass
class RayJobOptions:
    """A generated RayJob. `cluster` describes spec.rayClusterSpec (its name is not used)."""

    name: str
    entrypoint: str
    submission_id: str
    namespace: str | None = None
    cluster: ClusterOptions = field(default_factory=ClusterOptions)
    ttl_seconds_after_finished: int | None = None  # given: also shutdownAfterJobFinishes = true


def validate_ttl(ttl: int | None) -> None:
    if ttl is None:
        return
    if ttl < 0:
        raise UsageError(f"{TTL_FLAG} must be greater than or equal to 0")
    if ttl > INT32_MAX:
        raise UsageError(f"{TTL_FLAG} must be at most {INT32_MAX}")


def validate_rayjob_options(options: RayJobOptions) -> None:
    """Everything checkable without the cluster; raises UsageError naming the flag."""
    validate_name("RayJob", options.name, max_length=MAX_RAYJOB_NAME_LENGTH)
    validate_ttl(options.ttl_seconds_after_finished)
    cluster = copy.copy(options.cluster)
    cluster.name = options.name  # the RayCluster gets a name derived from the RayJob's
    validate_cluster_options(cluster)


def build_rayjob(options: RayJobOptions) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": options.name}
    if options.namespace:
        metadata["namespace"] = options.namespace
    spec: dict[str, Any] = {
        "submissionMode": INTERACTIVE_MODE,
        "jobId": options.submission_id,
        "entrypoint": options.entrypoint,
        "shutdownAfterJobFinishes": options.ttl_seconds_after_finished is not None,
    }
    if options.ttl_seconds_after_finished is not None:
        spec["ttlSecondsAfterFinished"] = options.ttl_seconds_after_finished
    spec["rayClusterSpec"] = build_cluster_spec(options.cluster)
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": spec}


@dataclass
class PreparedFile:
    rayjob: dict[str, Any]
    notes: list[str]  # things worth telling the user (stderr), e.g. a replaced entrypoint
    runtime_env_yaml: str | None  # spec.runtimeEnvYAML, for the submission when no flag gives one


def prepare_rayjob_file(doc: Any, *, source: str, namespace: str, submission_id: str, entrypoint: str,
                        name: str | None = None, ttl_seconds_after_finished: int | None = None) -> PreparedFile:
    """Check a RayJob read from -f and return the object to create (the input is not modified)."""
    if not isinstance(doc, dict):
        raise UsageError(f"{source} is not a RayJob: expected a YAML mapping with kind: RayJob")
    if doc.get("kind") != KIND:
        raise UsageError(f"{source} is not a RayJob: kind is {doc.get('kind')!r}")
    if doc.get("apiVersion") != API_VERSION:
        raise UsageError(f"{source}: apiVersion must be {API_VERSION}, not {doc.get('apiVersion')!r}")
    obj = copy.deepcopy(doc)
    obj.pop("status", None)
    metadata = obj.get("metadata")
    if metadata is None:
        metadata = obj["metadata"] = {}
    if not isinstance(metadata, dict):
        raise UsageError(f"{source}: metadata must be a mapping")
    for key in _SERVER_METADATA:
        metadata.pop(key, None)
    if name:
        metadata["name"] = name
    validate_name("RayJob", str(metadata.get("name") or ""), max_length=MAX_RAYJOB_NAME_LENGTH)
    file_ns = metadata.get("namespace")
    if file_ns and file_ns != namespace:
        raise UsageError(f'{source}: the RayJob\'s namespace "{file_ns}" does not match the namespace "{namespace}"; '
                         f"pass --namespace={file_ns} to submit it there")
    metadata["namespace"] = namespace
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        raise UsageError(f"{source}: spec must be a mapping")
    mode = spec.get("submissionMode")
    if mode != INTERACTIVE_MODE:
        raise UsageError(f"{source}: spec.submissionMode must be {INTERACTIVE_MODE} for kubectl ray job submit "
                         f"(it is {mode!r}); KubeRay submits other RayJobs itself: use kubectl apply -f instead")
    backoff = spec.get("backoffLimit")
    if backoff not in (None, 0):
        raise UsageError(f"{source}: spec.backoffLimit is {backoff!r}: BackoffLimit is incompatible with "
                         f"{INTERACTIVE_MODE} (KubeRay would retry a job nobody resubmits); remove it or set 0")
    notes: list[str] = []
    if ttl_seconds_after_finished is not None:
        validate_ttl(ttl_seconds_after_finished)
        spec["ttlSecondsAfterFinished"] = ttl_seconds_after_finished
        spec["shutdownAfterJobFinishes"] = True
    ttl = spec.get("ttlSecondsAfterFinished")
    if ttl is not None:
        if isinstance(ttl, bool) or not isinstance(ttl, int):
            raise UsageError(f"{source}: spec.ttlSecondsAfterFinished must be an integer, not {ttl!r}")
        if ttl < 0:
            raise UsageError(f"{source}: ttlSecondsAfterFinished must be greater than or equal to 0")
        if ttl > 0 and spec.get("shutdownAfterJobFinishes") is not True:
            raise UsageError(f"{source}: ttlSecondsAfterFinished is only supported when shutdownAfterJobFinishes "
                             "is set to true")
    old_entrypoint = spec.get("entrypoint")
    if old_entrypoint and old_entrypoint != entrypoint:
        notes.append(f"{source}: spec.entrypoint {old_entrypoint!r} is replaced by the command after --")
    spec["entrypoint"] = entrypoint
    old_id = spec.get("jobId")
    if old_id and old_id != submission_id:
        notes.append(f"{source}: spec.jobId {old_id!r} is replaced by the submission id {submission_id}")
    spec["jobId"] = submission_id
    runtime_env_yaml = spec.get("runtimeEnvYAML")
    if runtime_env_yaml is not None and not isinstance(runtime_env_yaml, str):
        raise UsageError(f"{source}: spec.runtimeEnvYAML must be a string holding YAML")
    return PreparedFile(obj, notes, runtime_env_yaml or None)
