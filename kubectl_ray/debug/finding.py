"""Findings: what a rule reports, with its evidence and the fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)
SEVERITY_RANK = {ERROR: 0, WARNING: 1, INFO: 2}

TROUBLESHOOTING_DOC = "https://docs.ray.io/en/latest/cluster/kubernetes/troubleshooting/troubleshooting.html"
CONFIG_DOC = "https://docs.ray.io/en/latest/cluster/kubernetes/user-guides/config.html"
AUTOSCALING_DOC = "https://docs.ray.io/en/latest/cluster/kubernetes/user-guides/configuring-autoscaling.html"
GCS_FT_DOC = "https://docs.ray.io/en/latest/cluster/kubernetes/user-guides/kuberay-gcs-ft.html"
UPGRADE_DOC = "https://docs.ray.io/en/latest/cluster/kubernetes/user-guides/upgrade-guide.html"
GPU_DOC = "https://docs.ray.io/en/latest/cluster/kubernetes/user-guides/gpu.html"
RAYSERVICE_DOC = "https://docs.ray.io/en/latest/cluster/kubernetes/troubleshooting/rayservice-troubleshooting.html"
RAYJOB_DOC = "https://docs.ray.io/en/latest/cluster/kubernetes/getting-started/rayjob-quick-start.html"
INSTALL_DOC = "https://docs.ray.io/en/latest/cluster/kubernetes/getting-started/kuberay-operator-installation.html"
K8S_GPU_DOC = "https://kubernetes.io/docs/tasks/manage-gpus/scheduling-gpus/"


@dataclass(frozen=True)
class Evidence:
    """One observed fact: a field and its value, an event, a log line or a dashboard answer."""

    kind: str  # field | event | log | dashboard | note
    where: str  # field path, "Warning FailedScheduling", "pod/container", "/api/gcs_healthz"
    value: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "where": self.where, "value": self.value}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "Evidence":
        return cls(str(doc.get("kind", "")), str(doc.get("where", "")), str(doc.get("value", "")))

    def render(self) -> str:
        """One line for people (the JSON keeps the value as collected)."""
        value = compact(self.value)
        if self.kind == "field":
            return f"{self.where} = {value}"
        if self.kind == "event":
            return f"event {self.where}: {value}"
        if self.kind == "log":
            return f"log {self.where}: {value}"
        if self.kind == "dashboard":
            return f"dashboard {self.where}: {value}"
        return value


MAX_SHOWN = 400
TAIL_SHOWN = 160  # of a long value, the end is kept: the final exception line says what went wrong


def compact(text: str) -> str:
    """A value on one line for the terminal: a long one keeps its head and its last line.

    Evidence keeps values whole (`-o json` and bundles show them as collected); only this view
    shortens. A Python traceback becomes its first and last lines; other multi-line values are
    joined with " / "; what is still too long keeps its beginning and its end (the final exception
    line, the scheduler's last reason), with " … " where the middle was.
    """
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    if len(lines) <= 1:
        out = lines[0] if lines else str(text)
    elif any(ln.startswith("Traceback (most recent call last)") for ln in lines):
        out = f"{lines[0]} ... {lines[-1]}"
    else:
        out = " / ".join(lines)
    if len(out) <= MAX_SHOWN:
        return out
    last = lines[-1] if len(lines) > 1 else out
    tail = last if len(last) <= TAIL_SHOWN else last[-TAIL_SHOWN:]
    if tail is not last:
        tail = tail[tail.find(" ") + 1:] if " " in tail[:20] else tail  # start at a word
    head = out[:MAX_SHOWN - len(tail) - 3].rstrip()
    return f"{head} … {tail}"


def field_ev(path: str, value: Any) -> Evidence:
    return Evidence("field", path, _show(value))


def event_ev(event: dict[str, Any]) -> Evidence:
    count = event.get("count") or 1
    times = f" (x{count})" if isinstance(count, int) and count > 1 else ""
    where = f"{event.get('type', 'Normal')} {event.get('reason', '')} on {_involved(event)}"
    return Evidence("event", where, f"{event.get('message', '')}{times}".strip())


def log_ev(pod: str, container: str, line: str) -> Evidence:
    return Evidence("log", f"{pod}/{container}", line.strip())


def note(text: str) -> Evidence:
    return Evidence("note", "", text)


def _involved(event: dict[str, Any]) -> str:
    obj = event.get("involvedObject") or event.get("regarding") or {}
    return f"{obj.get('kind', '')}/{obj.get('name', '')}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value if value else '""'
    if value is None:
        return "<unset>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class Finding:
    id: str
    severity: str
    title: str
    object: str  # Kind/name of the object the finding is about
    namespace: str = ""
    evidence: list[Evidence] = field(default_factory=list)
    fix: str = ""
    doc: str | None = None
    aliases: tuple[str, ...] = ()
    # for folding: the RayCluster (or CR) the finding is about, and which part of it
    scope: str = ""
    subject: str = ""  # "head", "group:<name>", "operator", "cluster", ...
    consequences: list["Finding"] = field(default_factory=list)
    order: int = 0  # evaluation-order phase, filled in by the engine
    policy: str = ""  # the severity-policy clause (severity.py), filled in by the engine

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.id, "severity": self.severity, "title": self.title, "object": self.object,
            "namespace": self.namespace, "evidence": [e.to_dict() for e in self.evidence], "fix": self.fix,
            "doc": self.doc, "aliases": list(self.aliases), "scope": self.scope, "subject": self.subject,
            "consequences": [c.to_dict() for c in self.consequences],
        }
        if self.policy:
            doc["policy"] = self.policy
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "Finding":
        return cls(
            id=doc["id"], severity=doc["severity"], title=doc["title"], object=doc.get("object", ""),
            namespace=doc.get("namespace", ""), evidence=[Evidence.from_dict(e) for e in doc.get("evidence") or []],
            fix=doc.get("fix", ""), doc=doc.get("doc"), aliases=tuple(doc.get("aliases") or ()),
            scope=doc.get("scope", ""), subject=doc.get("subject", ""),
            consequences=[cls.from_dict(c) for c in doc.get("consequences") or []],
            policy=doc.get("policy", ""),
        )

    def all_ids(self) -> set[str]:
        """This finding's ID and aliases, and those of everything folded into it."""
        ids = {self.id, *self.aliases}
        for c in self.consequences:
            ids |= c.all_ids()
        return ids


@dataclass(frozen=True)
class NotChecked:
    """A rule that could not run because data it needs was not readable."""

    id: str
    title: str
    reason: str  # e.g. "forbidden: list nodes at the cluster scope"

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "reason": self.reason}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "NotChecked":
        return cls(doc["id"], doc.get("title", ""), doc.get("reason", ""))


class MissingData(Exception):
    """Raised inside a rule when data it needs was not collected; the engine records NotChecked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
