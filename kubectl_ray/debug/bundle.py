"""Support bundles: `--bundle out.tar.gz` writes what was collected; `--from-bundle` reads it back offline.

Layout (one top-level folder, `kubectl-ray-debug/`):

    README.txt                                   what this is and how to analyse it
    metadata.json                                the snapshot without objects and logs (format, meta,
                                                 targets, absent, forbidden, errors, deep) + file order
    objects/<resource>/<namespace>/<name>.yaml   one YAML file per object (cluster-scoped: no namespace)
    events/<namespace>.yaml                      the related events, as a YAML list
    logs/<namespace>/<pod>/<container>[.previous].log
    diagnosis.json                               the `-o json` report at collection time (for people/tools)

What goes in was already slimmed and redacted by the collector; writing redacts once more and drops any
Secret defensively, so nothing secret can reach the file. Reading never extracts to disk: members are
read in memory (regular files only, size-capped) and parsed with yaml.safe_load.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import tarfile
import tempfile
from datetime import datetime
from typing import Any

from kubectl_ray.debug.redact import redact, redact_text
from kubectl_ray.debug.snapshot import SNAPSHOT_FORMAT, LogTail, Snapshot
from kubectl_ray.errors import ExitCode, KubectlRayError
from kubectl_ray.printing import parse_timestamp

ROOT = "kubectl-ray-debug"
MAX_MEMBER = 64 * 1024 * 1024
MAX_TOTAL = 512 * 1024 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9._-]")

README = """This is a kubectl-ray support bundle: what `kubectl ray debug` read from a Kubernetes cluster
about a Ray cluster, job or service (objects as YAML, related events, log tails), with Secrets never
collected and secret-looking values redacted.

Analyse it offline, without any cluster:

    kubectl ray debug --from-bundle {name}

diagnosis.json holds the findings as they were when the bundle was written.
"""


class BundleError(KubectlRayError):
    """The bundle cannot be written or read; for --from-bundle the diagnosis cannot run (exit 3)."""

    exit_code = ExitCode.NOT_RUN


def _safe(part: str) -> str:
    return _SAFE.sub("_", part or "_")[:200] or "_"


def _yaml(obj: Any) -> str:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(obj, Dumper=dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


def bundle_files(snap: Snapshot, report: dict[str, Any] | None = None) -> dict[str, bytes]:
    """Every file of the bundle (path -> content), in a stable order."""
    files: dict[str, bytes] = {}
    order: dict[str, list[str]] = {}
    for resource in sorted(snap.objects):
        if resource in ("secrets",):
            continue
        for obj in snap.objects[resource]:
            if obj.get("kind") == "Secret":
                continue
            meta = obj.get("metadata") or {}
            if resource == "events":
                continue
            parts = ["objects", _safe(resource)] + ([_safe(meta["namespace"])] if meta.get("namespace") else [])
            path = "/".join(parts + [_safe(meta.get("name", "unnamed")) + ".yaml"])
            n = 2
            while path in files:
                path = "/".join(parts + [f"{_safe(meta.get('name', 'unnamed'))}.{n}.yaml"])
                n += 1
            files[path] = _yaml(redact(obj)).encode()
            order.setdefault(resource, []).append(path)
    by_ns: dict[str, list[dict[str, Any]]] = {}
    for ev in snap.objects.get("events") or []:
        by_ns.setdefault((ev.get("metadata") or {}).get("namespace", ""), []).append(redact(ev))
    for ns, events in sorted(by_ns.items()):
        path = f"events/{_safe(ns)}.yaml"
        files[path] = _yaml(events).encode()
        order.setdefault("events", []).append(path)
    logs = []
    for tail in snap.logs:
        path = f"logs/{_safe(tail.namespace)}/{_safe(tail.pod)}/{_safe(tail.container)}{'.previous' if tail.previous else ''}.log"
        files[path] = redact_text(tail.text).encode()
        logs.append({"path": path, "namespace": tail.namespace, "pod": tail.pod, "container": tail.container,
                     "previous": tail.previous})
    doc = snap.to_dict()
    for key in ("objects", "logs"):
        doc.pop(key)
    doc = redact(doc)
    doc["files"] = order
    doc["logFiles"] = logs
    files["metadata.json"] = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
    if report is not None:
        files["diagnosis.json"] = (json.dumps(report, indent=2) + "\n").encode()
    files["README.txt"] = README.format(name="<this file>").encode()
    return dict(sorted(files.items()))


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
        raise BundleError(f"cannot write the bundle {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=mtime) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for name, data in files.items():
                    info = tarfile.TarInfo(f"{ROOT}/{name}")
                    info.size = len(data)
                    info.mtime = mtime
                    info.mode = 0o644
                    tar.addfile(info, io.BytesIO(data))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return os.path.getsize(path)


def read_bundle(path: str) -> Snapshot:
    """A Snapshot from a bundle, without writing anything to disk."""
    files = _read_members(path)
    raw = files.get("metadata.json")
    if raw is None:
        raise BundleError(f"{path} is not a kubectl-ray support bundle (no {ROOT}/metadata.json)")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise BundleError(f"{path}: metadata.json is not valid JSON: {exc}") from None
    if doc.get("format") != SNAPSHOT_FORMAT:
        raise BundleError(f"{path}: unsupported bundle format {doc.get('format')!r} (this plugin reads {SNAPSHOT_FORMAT})")
    import yaml

    objects: dict[str, list[dict[str, Any]]] = {}
    for resource, paths in (doc.get("files") or {}).items():
        for member in paths:
            data = files.get(member)
            if data is None:
                raise BundleError(f"{path}: {member} is listed in metadata.json but missing")
            try:
                loaded = yaml.safe_load(data.decode("utf-8"))
            except yaml.YAMLError as exc:
                raise BundleError(f"{path}: {member} is not valid YAML: {exc}") from None
            if resource == "events":
                objects.setdefault("events", []).extend(loaded or [])
            elif isinstance(loaded, dict):
                objects.setdefault(resource, []).append(loaded)
    logs = []
    for entry in doc.get("logFiles") or []:
        data = files.get(entry.get("path", ""), b"")
        logs.append(LogTail(entry.get("namespace", ""), entry.get("pod", ""), entry.get("container", ""),
                            bool(entry.get("previous")), data.decode("utf-8", "replace")).to_dict())
    for resource in doc.get("collected") or []:
        objects.setdefault(resource, [])  # read, and found empty
    doc["objects"] = objects
    doc["logs"] = logs
    try:
        snap = Snapshot.from_dict(doc)
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{path}: the bundle's metadata is malformed: {exc}") from None
    snap.meta["source"] = "bundle"
    return snap


def _read_members(path: str) -> dict[str, bytes]:
    try:
        tar = tarfile.open(path, mode="r:*")
    except (OSError, tarfile.TarError) as exc:
        raise BundleError(f"cannot read the bundle {path}: {exc}") from None
    files: dict[str, bytes] = {}
    total = 0
    with tar:
        try:
            for member in tar:
                if not member.isfile():
                    continue
                name = member.name.lstrip("./")
                if not name.startswith(ROOT + "/"):
                    continue
                if member.size > MAX_MEMBER or total + member.size > MAX_TOTAL:
                    raise BundleError(f"{path}: {member.name} is too large for a support bundle")
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                data = handle.read(MAX_MEMBER + 1)
                total += len(data)
                files[name[len(ROOT) + 1:]] = data
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise BundleError(f"cannot read the bundle {path}: {exc}") from None
    return files
