"""Scale one worker group of a RayCluster: pure, from the object read to the object to write.

Messages match upstream's `kubectl ray scale cluster` (its e2e tests grep `not found`,
`greater than`, `less than`). The caller does read-modify-replace with resourceVersion, so only the
chosen group's fields change; a merge patch would replace the whole workerGroupSpecs list.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from kubectl_ray.errors import KubectlRayError, UsageError
from kubectl_ray.shapes import check_depth, mapping, name_of, namespace_of, required_array, text

UNSET = -1  # upstream's flag default: "leave this value alone"
MAX_INT32 = 2147483647
DEFAULT_MIN_REPLICAS = 0  # CRD defaults when the field is absent
DEFAULT_MAX_REPLICAS = MAX_INT32


@dataclass(frozen=True)
class ScaleRequest:
    group: str
    replicas: int = UNSET
    min_replicas: int = UNSET
    max_replicas: int = UNSET

    def is_set(self, value: int) -> bool:
        return value != UNSET


@dataclass(frozen=True)
class ScaleResult:
    cluster: dict[str, Any]  # the object to write (a copy; the input is not modified)
    changes: list[str] = field(default_factory=list)  # e.g. "Scaled Replicas: 1 to 3"

    @property
    def changed(self) -> bool:
        return bool(self.changes)


class ScaleError(KubectlRayError):
    """The request does not fit the cluster as it is (group missing, bounds violated)."""


def validate_request(req: ScaleRequest) -> None:
    """Flag checks that need no cluster, upstream's order and wording (exit 2)."""
    if not req.group:
        raise UsageError("must specify -w/--worker-group")
    flags = (("--replicas", req.replicas), ("--min-replicas", req.min_replicas), ("--max-replicas", req.max_replicas))
    if all(value == UNSET for _, value in flags):
        raise UsageError("must specify at least one of --replicas, --min-replicas, or --max-replicas "
                         "(non-negative integers)")
    for flag, value in flags:
        if value < UNSET:
            raise UsageError(f"{flag} must be a non-negative integer, got {value}")
        if value > MAX_INT32:
            raise UsageError(f"{flag} must be at most {MAX_INT32}, got {value}")
    if req.is_set(req.min_replicas) and req.is_set(req.max_replicas) and req.min_replicas > req.max_replicas:
        raise UsageError(f"--min-replicas ({req.min_replicas}) cannot be greater than --max-replicas ({req.max_replicas})")
    if req.is_set(req.replicas):
        if req.is_set(req.min_replicas) and req.replicas < req.min_replicas:
            raise UsageError(f"--replicas ({req.replicas}) cannot be less than --min-replicas ({req.min_replicas})")
        if req.is_set(req.max_replicas) and req.replicas > req.max_replicas:
            raise UsageError(f"--replicas ({req.replicas}) cannot be greater than --max-replicas ({req.max_replicas})")


def _where(cluster: dict[str, Any]) -> str:
    return f"Ray cluster {name_of(cluster)} in namespace {namespace_of(cluster)}"


def _int_field(group: dict[str, Any], key: str, default: int) -> int:
    """A replica count as stored; one that is not an int32 (a string, a float, 2**70) is replaced by the default."""
    value = group.get(key)
    return value if type(value) is int and 0 <= value <= MAX_INT32 else default


def _groups(cluster: dict[str, Any]) -> list[Any]:
    return required_array(cluster, ("spec", "workerGroupSpecs"), f"RayCluster {name_of(cluster)}")


def group_names(cluster: dict[str, Any]) -> list[str]:
    return [text(g, "groupName") for g in _groups(cluster) if isinstance(g, dict)]


def find_group_index(cluster: dict[str, Any], group: str) -> int:
    for index, spec in enumerate(_groups(cluster)):
        if isinstance(spec, dict) and spec.get("groupName") == group:
            return index
    available = ", ".join(group_names(cluster)) or "(none)"
    raise ScaleError(f"worker group {group} not found in {_where(cluster)}. Available worker groups: {available}")


def scale_worker_group(cluster: dict[str, Any], req: ScaleRequest) -> ScaleResult:
    """Apply the request to a copy of the cluster; describe each change upstream's way."""
    index = find_group_index(cluster, req.group)
    check_depth(cluster, f"RayCluster {name_of(cluster)}")  # before the recursive copy
    updated = copy.deepcopy(cluster)
    spec = updated["spec"]["workerGroupSpecs"][index]
    current = {
        "minReplicas": _int_field(spec, "minReplicas", DEFAULT_MIN_REPLICAS),
        "maxReplicas": _int_field(spec, "maxReplicas", DEFAULT_MAX_REPLICAS),
        "replicas": _int_field(spec, "replicas", 0),
    }
    wanted = {
        "minReplicas": req.min_replicas if req.is_set(req.min_replicas) else current["minReplicas"],
        "maxReplicas": req.max_replicas if req.is_set(req.max_replicas) else current["maxReplicas"],
        "replicas": req.replicas if req.is_set(req.replicas) else current["replicas"],
    }
    _check_final_state(req, wanted)
    changes = []
    for key, label in (("minReplicas", "minReplicas"), ("maxReplicas", "maxReplicas"), ("replicas", "Replicas")):
        if wanted[key] != current[key]:
            spec[key] = wanted[key]
            changes.append(f"Scaled {label}: {current[key]} to {wanted[key]}")
    return ScaleResult(updated, changes)


def _check_final_state(req: ScaleRequest, wanted: dict[str, int]) -> None:
    """The group as it would be must satisfy min <= replicas <= max (values not given come from the
    cluster, which the message then says, since the user did not type them)."""
    low, high, replicas = wanted["minReplicas"], wanted["maxReplicas"], wanted["replicas"]
    hint = "" if req.is_set(req.replicas) else "; that is the group's current value: pass -r/--replicas as well"
    if low > high:
        bound = "" if req.is_set(req.min_replicas) and req.is_set(req.max_replicas) else \
            "; the other bound is the group's current value"
        raise ScaleError(f"cannot set --min-replicas ({low}) greater than --max-replicas ({high}){bound}")
    if replicas < low:
        raise ScaleError(f"cannot set --replicas ({replicas}) less than --min-replicas ({low}){hint}")
    if replicas > high:
        raise ScaleError(f"cannot set --replicas ({replicas}) greater than --max-replicas ({high}){hint}")


def describe(cluster: dict[str, Any], group: str, changes: list[str]) -> str:
    """Upstream's one-line summary of a scale."""
    if not changes:
        return f"Worker group {group} in {_where(cluster)} already matches the requested configuration. Skipping."
    return f"Updated worker group {group} in {_where(cluster)} ({', '.join(changes)})"


def autoscaling_enabled(cluster: dict[str, Any]) -> bool:
    return mapping(cluster, "spec").get("enableInTreeAutoscaling") is True
