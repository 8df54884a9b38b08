"""Download one Ray pod's logs to a folder: every container's stdout, and Ray's log directory.

    result = download_pod_logs(kube, pod, out_dir, previous=False, on_skip=print)

Layout (upstream's, plus every container): `<out_dir>/<pod>/stdout.log` for the Ray container
(containers[0]), `<out_dir>/<pod>/<container>.log` for the others (e.g. `autoscaler`), and the
contents of `/tmp/ray/session_latest/logs/` beside them. Everything is streamed to disk in chunks
(container logs through `pod_log(stream=True)`, the log directory as a `tar` over the pod exec
WebSocket extracted by kubectl_ray.safetar), so memory stays flat whatever the log size. Existing
files are truncated, never appended to. No local stdin is wired to the remote command.

Failures are collected per pod (PodLogResult.errors) rather than raised, so one broken pod does not
stop the others; `cancel` (a threading.Event) aborts a download between chunks.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from kubectl_ray.errors import KubectlRayError
from kubectl_ray.kube.client import KubeClient
from kubectl_ray.kube.errors import ApiError
from kubectl_ray.safetar import ChunkStream, UnsafePath, UnsafeTarError, extract_stream, make_dirs_inside, \
    write_file_inside

RAY_LOG_DIR = "/tmp/ray/session_latest/logs"
# Upstream's command (kubectl-plugin/pkg/cmd/log/log.go); the trailing slash follows the symlink.
TAR_COMMAND = ["tar", "--warning=no-file-changed", "-cf", "-", "-C", RAY_LOG_DIR + "/", "."]
STDOUT_FILE = "stdout.log"
CHUNK = 1 << 20
_EXIT_CODE = re.compile(r"exit code (\d+)\s*$")


class Cancelled(Exception):
    """The download was interrupted (Ctrl-C)."""


@dataclass
class SavedFile:
    name: str
    bytes: int


@dataclass
class PodLogResult:
    pod: str
    folder: str
    container_logs: list[SavedFile] = field(default_factory=list)
    ray_files: int = 0
    ray_bytes: int = 0
    skipped_entries: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. no previous container: not a failure
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def total_bytes(self) -> int:
        return self.ray_bytes + sum(f.bytes for f in self.container_logs)


def container_log_names(pod: dict[str, Any]) -> list[tuple[str, str]]:
    """(container, file name): the Ray container (index 0) writes stdout.log, others <name>.log."""
    names: list[tuple[str, str]] = []
    used: set[str] = set()
    for index, container in enumerate((pod.get("spec") or {}).get("containers") or []):
        name = container.get("name") or f"container-{index}"
        filename = STDOUT_FILE if index == 0 else f"{name}.log"
        if filename in used:
            filename = f"{name}.container.log"
        used.add(filename)
        names.append((name, filename))
    return names


OWNER_MARKER = ".kubectl-ray-log"  # in every pod folder this command wrote: later runs may overwrite it


def download_pod_logs(kube: KubeClient, pod: dict[str, Any], out_dir: str, *, previous: bool = False,
                      on_skip: Callable[[str], None] | None = None,
                      cancel: threading.Event | None = None, overwrite: bool = False) -> PodLogResult:
    """Save one pod's container logs and Ray log directory under `<out_dir>/<pod>/`.

    A pod folder that already holds files this command did not write is left alone unless
    `overwrite`: `--out-dir ~` must not clobber an unrelated folder that happens to share a pod's name.
    """
    meta = pod.get("metadata") or {}
    name, namespace = meta.get("name", ""), meta.get("namespace")
    root = os.path.realpath(out_dir)
    folder = os.path.join(root, name)
    result = PodLogResult(pod=name, folder=folder)
    if not name or os.path.basename(name) != name or name in (".", ".."):
        result.errors.append(f"refusing pod name {name!r}: not a plain folder name")
        return result
    if not overwrite and _foreign_folder(folder):
        result.errors.append(f"folder {folder} already exists with files kubectl ray log did not write; "
                             "refusing to overwrite them (pass --overwrite, or choose another --out-dir)")
        return result
    problem = make_dirs_inside(root, folder)
    if problem:
        result.errors.append(f"cannot use folder {folder}: {problem}")
        return result
    write_file_inside(folder, os.path.join(folder, OWNER_MARKER), [b"written by kubectl ray log\n"])
    containers = container_log_names(pod)
    for container, filename in containers:
        _save_container_log(kube, name, namespace, container, filename, folder, previous, result, cancel)
    if containers:
        _save_ray_log_dir(kube, name, namespace, containers[0][0], folder, result, on_skip, cancel)
    else:
        result.errors.append("the pod has no containers")
    return result


def _foreign_folder(folder: str) -> bool:
    """An existing, non-empty directory without our marker (a file in the way is caught later)."""
    try:
        entries = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True
    return bool(entries) and OWNER_MARKER not in entries


def _save_container_log(kube: KubeClient, pod: str, namespace: str | None, container: str, filename: str,
                        folder: str, previous: bool, result: PodLogResult, cancel: threading.Event | None) -> None:
    which = "previous log" if previous else "log"
    try:
        response = kube.pod_log(pod, namespace, container=container, previous=previous, stream=True)
    except ApiError as exc:
        if previous and exc.status == 400 and "previous terminated container" in exc.message:
            result.notes.append(f"{container}: no previous container")
            return
        result.errors.append(f"{which} of container {container}: {exc.render()}")
        return
    except KubectlRayError as exc:
        result.errors.append(f"{which} of container {container}: {exc.render().removeprefix('error: ')}")
        return
    path = os.path.join(folder, filename)
    try:
        written = write_file_inside(folder, path, _checked(response.iter_chunks(CHUNK), cancel))
    except Cancelled:
        response.close()
        raise
    except UnsafePath as exc:
        response.close()
        result.errors.append(f"cannot write {filename}: {exc}")
        return
    except KubectlRayError as exc:  # the connection dropped in the middle of the log
        result.errors.append(f"{which} of container {container}: {exc.render().removeprefix('error: ')} "
                             f"({filename} is incomplete)")
        return
    except OSError as exc:
        response.close()
        result.errors.append(f"cannot write {path}: {exc.strerror or exc}")
        return
    result.container_logs.append(SavedFile(filename, written))


def _save_ray_log_dir(kube: KubeClient, pod: str, namespace: str | None, container: str, folder: str,
                      result: PodLogResult, on_skip: Callable[[str], None] | None,
                      cancel: threading.Event | None) -> None:
    from kubectl_ray.kube.k8s_transport import exec_in_pod

    def skip(message: str) -> None:
        result.skipped_entries.append(message)
        if on_skip is not None:
            on_skip(message)

    try:
        session = exec_in_pod(kube.config, pod, namespace or kube.namespace, TAR_COMMAND, container)
    except KubectlRayError as exc:
        result.errors.append(f"{RAY_LOG_DIR}: {exc.render().removeprefix('error: ')}")
        return
    stream = ChunkStream(_checked(session.stdout_chunks(), cancel))
    broken: str | None = None
    try:
        extracted = extract_stream(stream, folder, skip)
        result.ray_files, result.ray_bytes = extracted.files, extracted.bytes
    except UnsafeTarError as exc:
        broken = str(exc)
    except OSError as exc:
        broken = f"cannot write under {folder}: {exc.strerror or exc}"
    finally:
        stream.drain()  # the rest of the stream carries the command's exit status
    failure = session.failure()
    stderr = session.stderr.decode("utf-8", "replace").strip()
    code = _exit_code(failure)
    if failure and code == 1 and broken is None:
        # GNU tar exits 1 when a file changed while it was read: Ray keeps writing its logs.
        result.warnings.append(f"tar reported files that changed while being copied{_first_line(stderr, ': ')}")
        return
    if failure:
        result.errors.append(f"could not copy {RAY_LOG_DIR} from container {container}: {failure}"
                             f"{_first_line(stderr, '; tar said: ')}")
    elif broken:
        result.errors.append(f"{RAY_LOG_DIR} from container {container}: {broken}")


def _checked(chunks: Iterable[bytes], cancel: threading.Event | None) -> Iterator[bytes]:
    for chunk in chunks:
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        yield chunk


def _exit_code(failure: str | None) -> int | None:
    match = _EXIT_CODE.search(failure or "")
    return int(match.group(1)) if match else None


def _first_line(text: str, prefix: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return prefix + lines[0] if lines else ""
