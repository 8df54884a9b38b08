"""KubeRay's CRDs (../shared/crds/<version>/) as the emulator serves them: schemas, printer columns.

    crd_set("v1.7.0").kind("RayCluster").schema      # compiled structural schema (schema.Node)
    crd_set("v1.4.2").documents()                    # the CRD objects, for storing in the emulator

Loading a CRD file costs ~0.25 s (YAML, 1 MB each), so each version is loaded once per process
and only when a Ray object is first written.
"""

from __future__ import annotations

import copy
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.emulator.schema import Node, compile_schema

REPO = Path(__file__).resolve().parent.parent.parent
DEFAULT_VERSION = "v1.7.0"
VERSIONS = ("v1.7.0", "v1.4.2")
RAY_KINDS = {"RayCluster": "rayclusters", "RayJob": "rayjobs", "RayService": "rayservices"}


def find_shared() -> Path:
    """KubeRay CRDs and samples: $KUBECTL_RAY_SHARED, else ../shared next to the checkout, else /work/shared."""
    if os.environ.get("KUBECTL_RAY_SHARED"):
        return Path(os.environ["KUBECTL_RAY_SHARED"])
    for candidate in (REPO.parent / "shared", Path("/work/shared")):
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared"


class CRDsMissing(RuntimeError):
    pass


@dataclass
class PrinterColumn:
    name: str
    type: str
    json_path: str
    priority: int = 0
    format: str = ""
    description: str = ""


@dataclass
class CRDKind:
    """One served kind of a CRD (version v1)."""

    kind: str
    plural: str
    singular: str
    list_kind: str
    short_names: tuple[str, ...]
    categories: tuple[str, ...]
    subresources: tuple[str, ...]
    columns: list[PrinterColumn]
    raw_schema: dict[str, Any]
    _schema: Node | None = field(default=None, repr=False)

    @property
    def schema(self) -> Node:
        if self._schema is None:
            self._schema = compile_schema(self.raw_schema)
        return self._schema


class CRDSet:
    def __init__(self, version: str, documents: dict[str, dict[str, Any]]) -> None:
        self.version = version
        self._documents = documents
        self._stored: list[dict[str, Any]] | None = None
        self.kinds: dict[str, CRDKind] = {kind: _kind_of(doc) for kind, doc in documents.items()}

    def kind(self, kind: str) -> CRDKind | None:
        return self.kinds.get(kind)

    def documents(self) -> list[dict[str, Any]]:
        """The CRD objects as `kubectl apply` of KubeRay's manifests stores them (with status); shared, read-only."""
        if self._stored is None:
            self._stored = self._build_documents()
        return self._stored

    def _build_documents(self) -> list[dict[str, Any]]:
        out = []
        for doc in self._documents.values():
            crd = copy.deepcopy(doc)
            names = crd["spec"]["names"]
            crd["status"] = {"acceptedNames": {k: names[k] for k in ("kind", "listKind", "plural", "singular",
                                                                       "categories") if k in names},
                             "storedVersions": ["v1"],
                             "conditions": [
                                 {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                                  "message": "no conflicts found", "lastTransitionTime": "2026-01-01T00:00:00Z"},
                                 {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                                  "message": "the initial names have been accepted",
                                  "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
            out.append(crd)
        return out


def _kind_of(doc: dict[str, Any]) -> CRDKind:
    names = doc["spec"]["names"]
    v1 = next(v for v in doc["spec"]["versions"] if v["name"] == "v1")
    columns = [PrinterColumn(c["name"], c["type"], c["jsonPath"], int(c.get("priority") or 0), c.get("format", ""),
                             c.get("description", ""))
               for c in v1.get("additionalPrinterColumns") or []]
    if not columns:  # what apiextensions defaults an empty column list to
        columns = [PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
    return CRDKind(kind=names["kind"], plural=names["plural"], singular=names.get("singular", names["kind"].lower()),
                   list_kind=names.get("listKind", names["kind"] + "List"),
                   short_names=tuple(names.get("shortNames") or ()), categories=tuple(names.get("categories") or ()),
                   subresources=tuple(sorted((v1.get("subresources") or {}).keys())), columns=columns,
                   raw_schema=v1["schema"]["openAPIV3Schema"])


@functools.lru_cache(maxsize=None)
def crd_set(version: str = DEFAULT_VERSION) -> CRDSet:
    folder = find_shared() / "crds" / version
    if not folder.is_dir():
        raise CRDsMissing(f"KubeRay CRDs {version} are missing: {folder} (set KUBECTL_RAY_SHARED to the folder "
                          "holding crds/ and samples/)")
    return CRDSet(version, {kind: load_yaml_cached(folder / f"ray.io_{plural}.yaml") for kind, plural in RAY_KINDS.items()})


def load_yaml_cached(path: Path) -> Any:
    """A YAML file, parsed once per machine: later processes read a JSON copy (20x faster) from the temp dir."""
    import hashlib
    import json
    import tempfile

    stat = path.stat()
    tag = hashlib.sha1(f"{path.resolve()}:{stat.st_mtime_ns}:{stat.st_size}".encode()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / f"kubectl-ray-crd-cache-{os.getuid() if hasattr(os, 'getuid') else 0}"
    cached = cache / f"{path.stem}-{tag}.json"
    try:
        with open(cached, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        pass
    import yaml

    with open(path, encoding="utf-8") as fh:
        doc = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    try:
        cache.mkdir(mode=0o700, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(doc), encoding="utf-8")
        partial.replace(cached)  # atomic: a parallel reader sees the whole file or none
    except OSError:
        pass
    return doc


# --- JSONPath of printer columns (the simple `.a.b.c` paths CRDs use) ------------------------------

def json_path_value(obj: Any, path: str) -> Any:
    """The value at a simple JSONPath like `.status.head.podIP` (None when missing)."""
    current = obj
    for part in path.strip().lstrip(".").split("."):
        if not part:
            continue
        index = None
        if part.endswith("]") and "[" in part:
            part, _, rest = part.partition("[")
            index = int(rest[:-1])
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
        if index is not None:
            if not isinstance(current, list) or not -len(current) <= index < len(current):
                return None
            current = current[index]
    return current
