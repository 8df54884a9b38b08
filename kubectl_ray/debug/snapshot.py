"""What the collector saw, as plain data: objects by resource, what RBAC forbade, log tails, metadata.

A Snapshot is the only input of the rules, so the same Snapshot (live, or read back from a support
bundle) always gives the same findings. `to_dict`/`from_dict` are the bundle's wire form.

Presence is three-valued: an object is in `objects`, or it was looked up and is `absent` (404), or
its resource was not read at all (not in `collected`, or listed in `forbidden`). Rules ask through
`need()` so that a resource RBAC hid turns into "not checked", never into "healthy".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from kubectl_ray.debug.finding import MissingData
from kubectl_ray.debug.conform import conform
from kubectl_ray.printing import parse_timestamp

SNAPSHOT_FORMAT = "kubectl-ray.debug.snapshot/v1"
TARGET_KINDS = ("RayCluster", "RayJob", "RayService")
PLURALS = {"RayCluster": "rayclusters", "RayJob": "rayjobs", "RayService": "rayservices"}
CLUSTER_SCOPED = {"nodes", "runtimeclasses", "customresourcedefinitions", "namespaces", "priorityclasses"}


@dataclass(frozen=True)
class TargetRef:
    kind: str  # RayCluster | RayJob | RayService
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind.lower()}/{self.name}"

    @property
    def plural(self) -> str:
        return PLURALS[self.kind]

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "TargetRef":
        return cls(doc["kind"], doc.get("namespace", ""), doc["name"])


@dataclass(frozen=True)
class Forbidden:
    """One read the API server refused (403)."""

    verb: str
    resource: str
    namespace: str | None = None  # None: cluster scope (or all namespaces)
    message: str = ""

    def describe(self) -> str:
        where = f'in namespace "{self.namespace}"' if self.namespace else "at the cluster scope"
        return f"{self.verb} {self.resource} {where}"

    def covers(self, resource: str, namespace: str | None) -> bool:
        if self.resource != resource:
            return False
        return self.namespace is None or namespace is None or self.namespace == namespace

    def to_dict(self) -> dict[str, Any]:
        return {"verb": self.verb, "resource": self.resource, "namespace": self.namespace, "message": self.message}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "Forbidden":
        return cls(doc["verb"], doc["resource"], doc.get("namespace"), doc.get("message", ""))


@dataclass(frozen=True)
class LogTail:
    namespace: str
    pod: str
    container: str
    previous: bool
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "pod": self.pod, "container": self.container,
                "previous": self.previous, "text": self.text}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "LogTail":
        return cls(doc.get("namespace", ""), doc["pod"], doc["container"], bool(doc.get("previous")), doc.get("text", ""))


@dataclass
class Snapshot:
    targets: list[TargetRef] = field(default_factory=list)
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    collected: set[str] = field(default_factory=set)  # resources that were read (even if empty)
    absent: list[dict[str, str]] = field(default_factory=list)  # {"resource","namespace","name"} looked up: 404
    forbidden: list[Forbidden] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # other reads that failed (not 403/404)
    logs: list[LogTail] = field(default_factory=list)
    deep: dict[str, dict[str, Any]] = field(default_factory=dict)  # "ns/cluster" -> dashboard answers
    meta: dict[str, Any] = field(default_factory=dict)
    _index: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    # --- building ------------------------------------------------------------------------------

    def add(self, resource: str, objs: Iterable[dict[str, Any]]) -> None:
        self.collected.add(resource)
        bucket = self.objects.setdefault(resource, [])
        seen = {_key(o) for o in bucket}
        for obj in objs:
            key = _key(obj)
            if key not in seen:
                bucket.append(conform(obj))
                seen.add(key)
        self._index.clear()

    def mark_absent(self, resource: str, namespace: str | None, name: str) -> None:
        self.collected.add(resource)
        entry = {"resource": resource, "namespace": namespace or "", "name": name}
        if entry not in self.absent:
            self.absent.append(entry)

    def mark_forbidden(self, verb: str, resource: str, namespace: str | None, message: str = "") -> None:
        entry = Forbidden(verb, resource, namespace, message)
        if not any(f.verb == verb and f.resource == resource and f.namespace == namespace for f in self.forbidden):
            self.forbidden.append(entry)

    def for_target(self, target: TargetRef) -> "Snapshot":
        """The same data seen from one target (scan mode runs the rules once per target)."""
        return Snapshot([target], self.objects, self.collected, self.absent, self.forbidden, self.errors,
                        self.logs, self.deep, self.meta, self._index)

    # --- reading -------------------------------------------------------------------------------

    @property
    def target(self) -> TargetRef:
        return self.targets[0]

    @property
    def now(self) -> datetime | None:
        """When the data was collected: rules measure ages against this, never against the clock."""
        return parse_timestamp(self.meta.get("collectedAt"))

    def forbidden_for(self, resource: str, namespace: str | None = None) -> Forbidden | None:
        return next((f for f in self.forbidden if f.covers(resource, namespace)), None)

    def need(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Objects of a resource; raises MissingData ("not checked") if it could not be read."""
        denied = self.forbidden_for(resource, None if resource in CLUSTER_SCOPED else namespace)
        if denied is not None:
            raise MissingData(f"forbidden: {denied.describe()}")
        if resource not in self.collected:
            raise MissingData(f"{resource} were not collected")
        return self.items(resource, namespace)

    def readable(self, resource: str, namespace: str | None = None) -> bool:
        try:
            self.need(resource, namespace)
        except MissingData:
            return False
        return True

    def items(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        objs = self.objects.get(resource) or []
        if namespace is None or resource in CLUSTER_SCOPED:
            return objs
        return self._by_namespace(resource).get(namespace, [])

    def get(self, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        key = ("byname", resource)
        if key not in self._index:
            self._index[key] = {_key(o)[:2]: o for o in self.objects.get(resource) or []}
        ns = "" if resource in CLUSTER_SCOPED else (namespace or "")
        if not isinstance(name, str) or not isinstance(ns, str):  # a name read from a hostile object
            return None
        return self._index[key].get((ns, name))

    def is_absent(self, resource: str, namespace: str | None, name: str) -> bool:
        return {"resource": resource, "namespace": namespace or "", "name": name} in self.absent

    def events_for(self, namespace: str, kind: str, name: str) -> list[dict[str, Any]]:
        key = ("events",)
        if key not in self._index:
            index: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
            for ev in self.objects.get("events") or []:
                inv = ev.get("involvedObject") or ev.get("regarding") or {}
                if not isinstance(inv, dict):
                    continue
                ns = inv.get("namespace") or (ev.get("metadata") or {}).get("namespace", "")
                index.setdefault((str(ns), str(inv.get("kind", "")), str(inv.get("name", ""))), []).append(ev)
            self._index[key] = index
        return self._index[key].get((namespace, kind, name), [])

    def pods_of_cluster(self, namespace: str, cluster: str) -> list[dict[str, Any]]:
        key = ("pods",)
        if key not in self._index:
            index: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for pod in self.objects.get("pods") or []:
                meta = pod.get("metadata") or {}
                labels = meta.get("labels") if isinstance(meta, dict) else None
                label = labels.get("ray.io/cluster") if isinstance(labels, dict) else None
                if isinstance(label, str) and label:
                    index.setdefault((str(meta.get("namespace", "")), label), []).append(pod)
            self._index[key] = index
        return self._index[key].get((namespace, cluster), [])

    def logs_for(self, namespace: str, pod: str, container: str, previous: bool | None = None) -> list[LogTail]:
        return [t for t in self.logs if t.namespace == namespace and t.pod == pod and t.container == container
                and (previous is None or t.previous == previous)]

    def _by_namespace(self, resource: str) -> dict[str, list[dict[str, Any]]]:
        key = ("ns", resource)
        if key not in self._index:
            index: dict[str, list[dict[str, Any]]] = {}
            for obj in self.objects.get(resource) or []:
                index.setdefault(_key(obj)[0], []).append(obj)
            self._index[key] = index
        return self._index[key]

    # --- wire form -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": SNAPSHOT_FORMAT,
            "meta": self.meta,
            "targets": [t.to_dict() for t in self.targets],
            "collected": sorted(self.collected),
            "absent": self.absent,
            "forbidden": [f.to_dict() for f in self.forbidden],
            "errors": self.errors,
            "deep": self.deep,
            "objects": self.objects,
            "logs": [t.to_dict() for t in self.logs],
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "Snapshot":
        if doc.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"not a kubectl-ray debug snapshot (format {doc.get('format')!r}, expected {SNAPSHOT_FORMAT!r})")
        return cls(
            targets=[TargetRef.from_dict(t) for t in doc.get("targets") or []],
            objects={k: [conform(o) for o in v] for k, v in (doc.get("objects") or {}).items()},
            collected=set(doc.get("collected") or []),
            absent=list(doc.get("absent") or []),
            forbidden=[Forbidden.from_dict(f) for f in doc.get("forbidden") or []],
            errors=list(doc.get("errors") or []),
            logs=[LogTail.from_dict(t) for t in doc.get("logs") or []],
            deep=dict(doc.get("deep") or {}),
            meta=dict(doc.get("meta") or {}),
        )


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    return (str(meta.get("namespace", "")), str(meta.get("name", "")), str(meta.get("uid", "")))
