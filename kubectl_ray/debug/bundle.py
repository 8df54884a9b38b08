"""Support bundles: `--bundle out.tar.gz` writes what was collected; `--from-bundle` reads it back offline.

Layout (one top-level folder, `kubectl-ray-debug/`):

    README.txt                                   what this is and how to analyse it
    metadata.json                                the snapshot without objects and logs (format, meta,
                                                 targets, absent, forbidden, errors, deep) + file order
                                                 + `redactions`: what was redacted, counted per class
                                                 and per file (never the values)
    objects/<resource>/<namespace>/<name>.yaml   one YAML file per object (cluster-scoped: no namespace)
    events/<namespace>.yaml                      the related events, as a YAML list
    logs/<namespace>/<pod>/<container>[.previous].log
    diagnosis.json                               the `-o json` report at collection time (for people/tools)

The collector keeps values as read; writing is where redaction happens (redact.py), for every file,
and any Secret is dropped. Writing is atomic: a temporary file beside the target, renamed at the end
and removed on any failure (a full disk, a file-size limit), which is one `error:` line naming the path.

Reading never extracts to disk: members are read in memory (regular files only, each and all size-capped,
a bounded number of entries), YAML without aliases that expand past a bound or refer to themselves,
and every field checked for its type before any rule sees it; what is wrong is one `error:` line.
"""

from __future__ import annotations

import errno
import gzip
import io
import json
import os
import re
import tarfile
import tempfile
from datetime import datetime
from typing import Any

from kubectl_ray.debug.redact import Redactor
from kubectl_ray.debug.snapshot import SNAPSHOT_FORMAT, TARGET_KINDS, LogTail, Snapshot
from kubectl_ray.errors import ExitCode, KubectlRayError, one_line
from kubectl_ray.printing import parse_timestamp

ROOT = "kubectl-ray-debug"
MAX_MEMBER = 16 * 1024 * 1024  # the largest file we write is the events list of a namespace: ~1 MB for 2000 events
MAX_TOTAL = 128 * 1024 * 1024  # 5000 pods are ~30 MB of YAML
MAX_ENTRIES = 50_000  # tar entries of any type (each costs memory in tarfile's member list)
MAX_YAML_NODES = 2_000_000  # nodes of one YAML document, aliases expanded (a "billion laughs" is refused)
MAX_JSON_DEPTH = 200
_SAFE = re.compile(r"[^A-Za-z0-9._-]")

README = """This is a kubectl-ray support bundle: what `kubectl ray debug` read from a Kubernetes cluster
about a Ray cluster, job or service (objects as YAML, related events, log tails), with Secrets never
collected and secret-looking values redacted (metadata.json's "redactions" counts what, per file).

Analyse it offline, without any cluster:

    kubectl ray debug --from-bundle {name}

diagnosis.json holds the findings as they were when the bundle was written.
"""


class BundleError(KubectlRayError):
    """The bundle cannot be written or read; for --from-bundle the diagnosis cannot run (exit 3)."""

    exit_code = ExitCode.NOT_RUN


def _safe(part: Any) -> str:
    return _SAFE.sub("_", str(part or "_"))[:200] or "_"


def _yaml(obj: Any) -> str:
    import yaml

    class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
        def ignore_aliases(self, data: Any) -> bool:  # no anchors: readers refuse aliases that expand
            return True

    return yaml.dump(obj, Dumper=Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


class _Files:
    """The bundle's files, each redacted by its own Redactor so the manifest can count per file."""

    def __init__(self, known: Redactor) -> None:
        self.known = known
        self.files: dict[str, bytes] = {}
        self.redactions: dict[str, dict[str, int]] = {}

    def redactor(self) -> Redactor:
        r = Redactor()
        r.adopt(self.known)
        return r

    def add(self, path: str, data: str, r: Redactor) -> None:
        self.files[path] = data.encode()
        if r.counts:
            self.redactions[path] = dict(sorted(r.counts.items()))

    def unique(self, parts: list[str], name: str) -> str:
        path = "/".join(parts + [name + ".yaml"])
        n = 2
        while path in self.files:
            path = "/".join(parts + [f"{name}.{n}.yaml"])
            n += 1
        return path


def bundle_files(snap: Snapshot, report: dict[str, Any] | None = None) -> dict[str, bytes]:
    """Every file of the bundle (path -> content), redacted, in a stable order."""
    out = _Files(Redactor.knowing(snap))
    order: dict[str, list[str]] = {}
    for resource in sorted(snap.objects):
        if resource in ("secrets", "events"):
            continue
        for obj in snap.objects[resource]:
            if not isinstance(obj, dict) or obj.get("kind") == "Secret":
                continue
            meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
            parts = ["objects", _safe(resource)] + ([_safe(meta["namespace"])] if meta.get("namespace") else [])
            path = out.unique(parts, _safe(meta.get("name", "unnamed")))
            r = out.redactor()
            out.add(path, _yaml(r.value(obj)), r)
            order.setdefault(resource, []).append(path)
    by_ns: dict[str, list[dict[str, Any]]] = {}
    for ev in snap.objects.get("events") or []:
        meta = ev.get("metadata") if isinstance(ev, dict) and isinstance(ev.get("metadata"), dict) else {}
        by_ns.setdefault(str(meta.get("namespace", "")), []).append(ev)
    for ns, events in sorted(by_ns.items()):
        path = f"events/{_safe(ns)}.yaml"
        r = out.redactor()
        out.add(path, _yaml(r.value(events)), r)
        order.setdefault("events", []).append(path)
    logs = []
    for tail in snap.logs:
        path = f"logs/{_safe(tail.namespace)}/{_safe(tail.pod)}/{_safe(tail.container)}{'.previous' if tail.previous else ''}.log"
        r = out.redactor()
        out.add(path, r.text(tail.text), r)
        logs.append({"path": path, "namespace": tail.namespace, "pod": tail.pod, "container": tail.container,
                     "previous": tail.previous})
    doc = snap.to_dict()
    for key in ("objects", "logs"):
        doc.pop(key)
    r = out.redactor()
    doc = r.value(doc)
    if report is not None:
        rr = out.redactor()
        out.add("diagnosis.json", json.dumps(rr.value(report), indent=2) + "\n", rr)
    doc["files"] = order
    doc["logFiles"] = logs
    by_class: dict[str, int] = {}
    for counts in list(out.redactions.values()) + [dict(r.counts)]:
        for cls, n in counts.items():
            by_class[cls] = by_class.get(cls, 0) + n
    doc["redactions"] = {"total": sum(by_class.values()), "byClass": dict(sorted(by_class.items())),
                         "byFile": dict(sorted(out.redactions.items()))}
    if r.counts:
        doc["redactions"]["byFile"]["metadata.json"] = dict(sorted(r.counts.items()))
    out.files["metadata.json"] = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
    out.files["README.txt"] = README.format(name="<this file>").encode()
    return dict(sorted(out.files.items()))


def write_bundle(path: str, snap: Snapshot, report: dict[str, Any] | None = None) -> int:
    """Write the bundle atomically (temp file + rename, mode 0600); returns its size in bytes.

    The archive is reproducible: every timestamp in it (gzip header, tar entries) is the collection time.
    """
    files = bundle_files(snap, report)
    when = parse_timestamp(snap.meta.get("collectedAt"))
    mtime = int(when.timestamp()) if isinstance(when, datetime) else 0
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".kubectl-ray-bundle-", dir=directory)
    except OSError as exc:
        raise BundleError(f"cannot write the bundle {path}: {_reason(exc)}") from None
    try:
        with os.fdopen(fd, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=mtime) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for name, data in files.items():
                    info = tarfile.TarInfo(f"{ROOT}/{name}")
                    info.size = len(data)
                    info.mtime = mtime
                    info.mode = 0o644
                    tar.addfile(info, io.BytesIO(data))
            gz.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise BundleError(f"cannot write the bundle {path}: {_reason(exc)} (nothing was written)") from None
    except BaseException:
        _remove(tmp)
        raise
    return os.path.getsize(path)


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "no space left on the device"
    if exc.errno == errno.EFBIG:
        return "the file is larger than this process may write (file size limit)"
    return exc.strerror or str(exc)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def read_bundle(path: str) -> Snapshot:
    """A Snapshot from a bundle, without writing anything to disk; BundleError for anything malformed."""
    files = _read_members(path)
    raw = files.get("metadata.json")
    if raw is None:
        raise BundleError(f"{path} is not a kubectl-ray support bundle (no {ROOT}/metadata.json)")
    doc = _expect(_load_json(path, raw), dict, path, "metadata.json")
    if doc.get("format") != SNAPSHOT_FORMAT:
        raise BundleError(f"{path}: unsupported bundle format {str(doc.get('format'))[:80]!r} "
                          f"(this plugin reads {SNAPSHOT_FORMAT})")
    check = _Checker(path)
    objects: dict[str, list[dict[str, Any]]] = {}
    for resource, members in check.mapping(doc.get("files"), "metadata.json files").items():
        for member in check.list_of(members, str, f"metadata.json files.{resource}"):
            data = files.get(member)
            if data is None:
                raise BundleError(f"{path}: {member[:200]} is listed in metadata.json but missing")
            loaded = _load_yaml(path, member, data)
            if resource == "events":
                objects.setdefault("events", []).extend(check.list_of(loaded or [], dict, member))
            else:
                objects.setdefault(resource, []).append(check.object(loaded, member))
    logs = []
    for i, entry in enumerate(check.list_of(doc.get("logFiles") or [], dict, "metadata.json logFiles")):
        fields = {k: check.string(entry.get(k, ""), f"metadata.json logFiles[{i}].{k}") for k in ("path", "namespace", "pod", "container")}
        data = files.get(fields["path"], b"")
        logs.append(LogTail(fields["namespace"], fields["pod"], fields["container"], bool(entry.get("previous")),
                            data.decode("utf-8", "replace")).to_dict())
    for resource in check.list_of(doc.get("collected") or [], str, "metadata.json collected"):
        objects.setdefault(resource, [])  # read, and found empty
    check.snapshot_fields(doc)
    doc["objects"] = objects
    doc["logs"] = logs
    try:
        snap = Snapshot.from_dict(doc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(f"{path}: the bundle's metadata is malformed: {exc}") from None
    snap.meta["source"] = "bundle"
    return snap


_TYPE_NAMES = {dict: "an object", list: "a list", str: "a string", bool: "true or false", int: "a number"}


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _expect(value: Any, kind: type, path: str, what: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BundleError(f"{path}: {what[:200]} is not {_TYPE_NAMES[kind]} (got {_json_type(value)})")
    return value


class _Checker:
    """Type checks for what a bundle holds, each failure one line naming the member and the field."""

    def __init__(self, path: str) -> None:
        self.path = path

    def mapping(self, value: Any, what: str) -> dict[str, Any]:
        value = _expect(value if value is not None else {}, dict, self.path, what)
        for key in value:
            self.string(key, f"a key of {what}")
        return value

    def list_of(self, value: Any, kind: type, what: str) -> list[Any]:
        for i, item in enumerate(_expect(value, list, self.path, what)):
            _expect(item, kind, self.path, f"{what}[{i}]")
        return value

    def string(self, value: Any, what: str) -> str:
        return _expect(value, str, self.path, what)

    def optional(self, value: Any, kind: type, what: str) -> Any:
        return value if value is None else _expect(value, kind, self.path, what)

    def object(self, value: Any, what: str) -> dict[str, Any]:
        """A Kubernetes object: a mapping with metadata.name. Fields deeper down may be anything: a rule that
        trips over one is reported as a rule error, and the other rules still run."""
        obj = _expect(value, dict, self.path, what)
        meta = _expect(obj.get("metadata"), dict, self.path, f"{what}: metadata")
        self.string(meta.get("name"), f"{what}: metadata.name")
        for key in ("namespace", "uid"):
            self.optional(meta.get(key), str, f"{what}: metadata.{key}")
        for key in ("kind", "apiVersion"):
            self.optional(obj.get(key), str, f"{what}: {key}")
        return obj

    def snapshot_fields(self, doc: dict[str, Any]) -> None:
        meta = self.mapping(doc.get("meta"), "metadata.json meta")
        for key in ("collectedAt", "namespace", "source", "crdsMissing", "kueue"):
            self.optional(meta.get(key), str, f"metadata.json meta.{key}")
        self.optional(meta.get("apiCalls"), int, "metadata.json meta.apiCalls")
        for i, t in enumerate(self.list_of(doc.get("targets") or [], dict, "metadata.json targets")):
            if t.get("kind") not in TARGET_KINDS:
                raise BundleError(f"{self.path}: metadata.json targets[{i}].kind is not one of {', '.join(TARGET_KINDS)}")
            self.string(t.get("name"), f"metadata.json targets[{i}].name")
            self.optional(t.get("namespace"), str, f"metadata.json targets[{i}].namespace")
        for i, a in enumerate(self.list_of(doc.get("absent") or [], dict, "metadata.json absent")):
            for key in ("resource", "namespace", "name"):
                self.string(a.get(key), f"metadata.json absent[{i}].{key}")
        for i, f in enumerate(self.list_of(doc.get("forbidden") or [], dict, "metadata.json forbidden")):
            for key in ("verb", "resource"):
                self.string(f.get(key), f"metadata.json forbidden[{i}].{key}")
            self.optional(f.get("namespace"), str, f"metadata.json forbidden[{i}].namespace")
            self.optional(f.get("message"), str, f"metadata.json forbidden[{i}].message")
        self.list_of(doc.get("errors") or [], str, "metadata.json errors")
        for key, value in self.mapping(doc.get("deep"), "metadata.json deep").items():
            _expect(value, dict, self.path, f"metadata.json deep.{key}")


def _load_json(path: str, raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
        if _nesting(text) > MAX_JSON_DEPTH:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BundleError(f"{path}: metadata.json is not valid JSON: {str(exc)[:200]}") from None


def _nesting(text: str) -> int:
    """An upper bound of the JSON nesting depth (brackets inside strings count too: it is a bound)."""
    depth = deepest = 0
    for ch in re.findall(r"[\[\]{}]", text):
        depth += 1 if ch in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _load_yaml(path: str, member: str, data: bytes) -> Any:
    """yaml.safe_load, refusing documents whose aliases expand past MAX_YAML_NODES or refer to themselves."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(data)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if b"*" in data:  # an alias needs one; the bundles we write have none
            _check_nodes(node, path, member)
        return loader.construct_document(node)
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError, ValueError, TypeError) as exc:
        raise BundleError(f"{path}: {member[:200]} is not valid YAML: {one_line(str(exc))[:300]}") from None
    finally:
        loader.dispose()


def _check_nodes(root: Any, path: str, member: str) -> None:
    """Count the nodes of a YAML graph with aliases expanded (memoised, iterative: no recursion)."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            active.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > MAX_YAML_NODES:
                raise BundleError(f"{path}: {member[:200]} expands to more than {MAX_YAML_NODES} YAML nodes (aliases)")
            continue
        if key in sizes:
            continue
        if key in active:
            raise BundleError(f"{path}: {member[:200]} holds a YAML alias that refers to itself")
        active.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)


def _children(node: Any) -> list[Any]:
    value = node.value
    if isinstance(value, list):
        return [x for pair in value for x in pair] if value and isinstance(value[0], tuple) else list(value)
    return []


def _read_members(path: str) -> dict[str, bytes]:
    try:
        tar = tarfile.open(path, mode="r:*")
    except (OSError, tarfile.TarError, EOFError, ValueError) as exc:
        raise BundleError(f"cannot read the bundle {path}: {_read_reason(exc)}") from None
    files: dict[str, bytes] = {}
    total = entries = 0
    with tar:
        try:
            while True:
                member = tar.next()
                if member is None:
                    break
                entries += 1
                if entries > MAX_ENTRIES:
                    raise BundleError(f"{path}: more than {MAX_ENTRIES} entries: not a support bundle")
                tar.members = []  # tarfile keeps every header it read; we need none of them
                if not member.isfile():
                    continue
                name = member.name.lstrip("./")
                if not name.startswith(ROOT + "/"):
                    continue
                if member.size > MAX_MEMBER or total + member.size > MAX_TOTAL:
                    raise BundleError(f"{path}: {member.name[:200]} is too large for a support bundle "
                                      f"({member.size} bytes; members are capped at {MAX_MEMBER}, the whole at {MAX_TOTAL})")
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                data = handle.read(MAX_MEMBER + 1)
                total += len(data)
                files[name[len(ROOT) + 1:]] = data
        except (OSError, tarfile.TarError, EOFError, ValueError, zlib_error()) as exc:
            raise BundleError(f"cannot read the bundle {path}: {_read_reason(exc)}") from None
    return files


def zlib_error() -> type:
    import zlib

    return zlib.error


def _read_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return one_line(str(exc))[:300] or type(exc).__name__
