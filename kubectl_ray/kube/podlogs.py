"""Download Ray pods' logs to folders: every container's log, and Ray's log directory.

    results = download_logs(kube, pods, out_dir, max_concurrency=4, previous=False,
                            on_problem=print, on_done=lambda result: print(result.pod))

Layout of one pod's folder, `<out_dir>/<pod>/`:

    containers/<container>.log   every container's log (the Ray container, the autoscaler, sidecars)
    ray/...                      the contents of /tmp/ray/session_latest/logs/ (raylet.out, ...)
    .kubectl-ray-log             marks the folder as written by this command (reruns may overwrite it)

Container logs and Ray's files live in separate folders, so no file Ray writes (monitor.log,
stdout.log, a file named like the marker) can overwrite a container log or the marker.

Everything is streamed to disk (container logs through `pod_log(stream=True)`, the log directory as
`tar` over the pod exec WebSocket, kube/podexec.py, extracted by kubectl_ray.safetar), so memory
stays flat whatever the log size. Existing files are truncated, never appended to. No local stdin
is wired to the remote command.

Failures of one pod (or of one file: a name too long, a collision) are collected in its
PodLogResult rather than raised, so the other pods go on. A failing disk (no space, quota, I/O
error, file too large) stops everything: download_logs raises LogWriteError naming the file after
the other downloads stopped and removed their partial files. `cancel` (Ctrl-C) does the same.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from kubectl_ray.errors import KubectlRayError
from kubectl_ray.kube.client import KubeClient
from kubectl_ray.kube.errors import ApiError
from kubectl_ray.kube.podexec import Cancelled
from kubectl_ray.safetar import DiskError, EntryFailed, UnsafePath, UnsafeTarError, disk_error, is_disk_error, \
    make_dirs_inside, write_file_inside

RAY_LOG_DIR = "/tmp/ray/session_latest/logs"
# Upstream's command (kubectl-plugin/pkg/cmd/log/log.go); the trailing slash follows the symlink.
TAR_COMMAND = ["tar", "--warning=no-file-changed", "-cf", "-", "-C", RAY_LOG_DIR + "/", "."]
CONTAINERS_FOLDER = "containers"
RAY_FOLDER = "ray"
OWNER_MARKER = ".kubectl-ray-log"  # in every pod folder this command wrote: later runs may overwrite it
CHUNK = 1 << 20
STOP_GRACE_SECONDS = 3.0  # after Ctrl-C or a disk failure: exec streams notice within a second
_EXIT_CODE = re.compile(r"exit code (\d+)\s*$")

__all__ = ["Cancelled", "LogWriteError", "PodLogResult", "download_logs", "download_pod_logs"]


class LogWriteError(KubectlRayError):
    """The disk failed while writing a log file (the message names the file)."""


@dataclass
class SavedFile:
    name: str  # relative to the pod folder, e.g. containers/ray-head.log
    bytes: int


@dataclass
class PodLogResult:
    pod: str
    folder: str
    container_logs: list[SavedFile] = field(default_factory=list)
    ray_files: int = 0
    ray_bytes: int = 0
    skipped_entries: list[str] = field(default_factory=list)  # unsafe archive entries: a warning
    failed_entries: list[str] = field(default_factory=list)  # archive entries that could not be written
    notes: list[str] = field(default_factory=list)  # e.g. no previous container: not a failure
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.failed_entries

    @property
    def total_bytes(self) -> int:
        return self.ray_bytes + sum(f.bytes for f in self.container_logs)


# --- choosing pods ---------------------------------------------------------------------------------------


def pod_selector(cluster: str, node_type: str, worker_groups: tuple[str, ...]) -> str:
    """The label selector sent to the server (select_pods filters what it cannot express)."""
    parts = [f"ray.io/cluster={cluster}"]
    if node_type != "all":
        parts.append(f"ray.io/node-type={node_type}")
    if worker_groups and node_type == "worker":
        parts.append(f"ray.io/group in ({','.join(worker_groups)})")
    return ",".join(parts)


def select_pods(pods: list[dict[str, Any]], node_type: str, worker_groups: tuple[str, ...]) -> list[dict[str, Any]]:
    """Head first, then workers by name; with worker groups, only those groups' workers (and the head for 'all')."""
    chosen = []
    for pod in pods:
        kind = _labels(pod).get("ray.io/node-type")
        if kind not in ("head", "worker"):
            continue  # e.g. redis-cleanup jobs carry the cluster label too
        if worker_groups and kind == "worker" and _labels(pod).get("ray.io/group") not in worker_groups:
            continue
        if node_type != "all" and kind != node_type:
            continue
        chosen.append(pod)
    return sorted(chosen, key=lambda p: (_labels(p).get("ray.io/node-type") != "head", _name(p)))


def _labels(pod: dict[str, Any]) -> dict[str, str]:
    labels = _field(pod, "metadata").get("labels")
    return labels if isinstance(labels, dict) else {}


def _name(pod: dict[str, Any]) -> str:
    return str(_field(pod, "metadata").get("name") or "")


def _field(obj: Any, key: str) -> dict[str, Any]:
    """A sub-object of a pod, or {} when the server sent something else there."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, dict) else {}


# --- many pods -----------------------------------------------------------------------------------------


def download_logs(kube: KubeClient, pods: list[dict[str, Any]], out_dir: str, *, max_concurrency: int,
                  previous: bool = False, overwrite: bool = False,
                  on_problem: Callable[[str, str], None] | None = None,
                  on_done: Callable[[PodLogResult], None] | None = None) -> list[PodLogResult]:
    """Download pods with at most `max_concurrency` at once; results in the order of `pods`.

    `on_problem(pod, message)` hears about every skipped entry as it happens, `on_done(result)` about
    every finished pod. Raises LogWriteError when the disk fails, KeyboardInterrupt on Ctrl-C, after
    stopping the other downloads either way. The workers are daemon threads and are given
    STOP_GRACE_SECONDS to stop: a stream the server stalls cannot keep the command from ending.
    """
    import queue

    cancel = threading.Event()
    disk_failures: list[DiskError] = []
    todo: "queue.Queue[dict[str, Any]]" = queue.Queue()
    finished: "queue.Queue[tuple[dict[str, Any], PodLogResult | BaseException]]" = queue.Queue()
    for pod in pods:
        todo.put(pod)

    def work() -> None:
        while not cancel.is_set():
            try:
                pod = todo.get_nowait()
            except queue.Empty:
                return
            try:
                finished.put((pod, _download_one(kube, pod, out_dir, previous, overwrite, on_problem, cancel)))
            except DiskError as exc:  # stop the others at once, not when the main thread next looks
                disk_failures.append(exc)
                cancel.set()
                finished.put((pod, exc))
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which decides
                finished.put((pod, exc))

    workers = [threading.Thread(target=work, name=f"ray-log-{i}", daemon=True)
               for i in range(max(1, min(max_concurrency, len(pods))))]
    for worker in workers:
        worker.start()
    results: dict[str, PodLogResult] = {}
    try:
        while len(results) < len(pods):
            try:
                pod, outcome = finished.get(timeout=0.5)
            except queue.Empty:
                continue
            result = _result_of(outcome, pod, out_dir, disk_failures)
            results[result.pod] = result
            if on_done is not None:
                on_done(result)
    except BaseException:  # Ctrl-C or a failing disk: stop every download between two chunks, then leave
        cancel.set()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        raise
    return [results[_name(p)] for p in pods]


def _download_one(kube: KubeClient, pod: dict[str, Any], out_dir: str, previous: bool, overwrite: bool,
                  on_problem: Callable[[str, str], None] | None, cancel: threading.Event) -> PodLogResult:
    name = _name(pod)
    report = (lambda message: on_problem(name, message)) if on_problem else None
    return download_pod_logs(kube, pod, out_dir, previous=previous, cancel=cancel, overwrite=overwrite,
                             on_problem=report)


def _result_of(outcome: PodLogResult | BaseException, pod: dict[str, Any], out_dir: str,
               disk_failures: list[DiskError]) -> PodLogResult:
    if isinstance(outcome, PodLogResult):
        return outcome
    if isinstance(outcome, (DiskError, Cancelled)):
        if disk_failures:  # the first failing disk is the story; the other pods were stopped because of it
            raise LogWriteError(str(disk_failures[0]))
        raise KeyboardInterrupt()
    if not isinstance(outcome, Exception):
        raise outcome
    # one pod's surprise must not hide the others' results
    message = outcome.detail() if isinstance(outcome, KubectlRayError) else \
        f"unexpected {type(outcome).__name__}: {outcome}"
    name = _name(pod)
    return PodLogResult(pod=name, folder=os.path.join(out_dir, name), errors=[message])


# --- one pod ------------------------------------------------------------------------------------------


def container_log_names(pod: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(container, file name under containers/), or None as the file name if the name cannot be one."""
    names: list[tuple[str, str | None]] = []
    containers = _field(pod, "spec").get("containers")
    for index, container in enumerate(containers if isinstance(containers, list) else []):
        name = container.get("name") if isinstance(container, dict) else None
        name = str(name) if name else f"container-{index}"
        names.append((name, f"{name}.log" if _plain_name(name) else None))
    return names


def _plain_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and os.path.basename(name) == name and \
        not any(c in name for c in "/\\\0")


def download_pod_logs(kube: KubeClient, pod: dict[str, Any], out_dir: str, *, previous: bool = False,
                      on_problem: Callable[[str], None] | None = None,
                      cancel: threading.Event | None = None, overwrite: bool = False) -> PodLogResult:
    """Save one pod's container logs and Ray log directory under `<out_dir>/<pod>/` (layout above).

    A pod folder that already holds files this command did not write is left alone unless
    `overwrite`: `--out-dir ~` must not clobber an unrelated folder that happens to share a pod's name.
    Raises DiskError (the disk failed) and Cancelled; everything else ends up in the result.
    """
    name, namespace = _name(pod), _field(pod, "metadata").get("namespace")
    namespace = namespace if isinstance(namespace, str) and namespace else kube.namespace
    root = os.path.realpath(out_dir)
    folder = os.path.join(root, name)
    result = PodLogResult(pod=name, folder=folder)
    if not _plain_name(name):
        result.errors.append(f"refusing pod name {name!r}: not a plain folder name")
        return result
    if not overwrite and _foreign_folder(folder):
        result.errors.append(f"folder {folder} already exists with files kubectl ray log did not write; "
                             "refusing to overwrite them (pass --overwrite, or choose another --out-dir)")
        return result
    problem = _local_step(folder, lambda: _prepare_folder(root, folder))
    if problem:
        result.errors.append(f"cannot use folder {folder}: {problem}")
        return result
    containers = container_log_names(pod)
    for container, filename in containers:
        _save_container_log(kube, name, namespace, container, filename, folder, previous, result, cancel)
    if containers:
        _save_ray_log_dir(kube, name, namespace, containers[0][0], folder, result, on_problem, cancel)
    else:
        result.errors.append("the pod has no containers")
    return result


def _prepare_folder(root: str, folder: str) -> None:
    make_dirs_inside(root, folder)
    write_file_inside(folder, os.path.join(folder, OWNER_MARKER), [b"written by kubectl ray log\n"])
    make_dirs_inside(folder, os.path.join(folder, CONTAINERS_FOLDER))


def _local_step(path: str, action: Callable[[], Any]) -> str | None:
    """Run a local file-system step: None, or why it failed; a failing disk raises DiskError."""
    try:
        action()
    except (UnsafePath, EntryFailed) as exc:
        return str(exc)
    except OSError as exc:
        if is_disk_error(exc):
            raise disk_error(exc, exc.filename or path) from None
        return exc.strerror or str(exc)
    return None


def _foreign_folder(folder: str) -> bool:
    """An existing, non-empty directory without our marker (a file in the way is caught later)."""
    try:
        entries = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True
    return bool(entries) and OWNER_MARKER not in entries


def _save_container_log(kube: KubeClient, pod: str, namespace: str | None, container: str, filename: str | None,
                        folder: str, previous: bool, result: PodLogResult, cancel: threading.Event | None) -> None:
    which = "previous log" if previous else "log"
    if filename is None or any(f.name == f"{CONTAINERS_FOLDER}/{filename}" for f in result.container_logs):
        result.errors.append(f"{which} of container {container!r}: the name cannot be used as a file name here "
                             "(not a plain name, or a second container with the same name)")
        return
    try:
        response = kube.pod_log(pod, namespace, container=container, previous=previous, stream=True)
    except ApiError as exc:
        if previous and exc.status == 400 and "previous terminated container" in exc.message:
            result.notes.append(f"{container}: no previous container")
            return
        result.errors.append(f"{which} of container {container}: {exc.render()}")
        return
    except KubectlRayError as exc:
        result.errors.append(f"{which} of container {container}: {exc.detail()}")
        return
    relative = f"{CONTAINERS_FOLDER}/{filename}"
    path = os.path.join(folder, CONTAINERS_FOLDER, filename)
    try:
        written = write_file_inside(folder, path, _checked(response.iter_chunks(CHUNK), cancel))
    except Cancelled:
        response.close()
        _remove(path)
        raise
    except (UnsafePath, EntryFailed) as exc:
        response.close()
        result.errors.append(f"cannot write {relative}: {exc}")
        return
    except KubectlRayError as exc:  # the connection dropped in the middle of the log
        result.errors.append(f"{which} of container {container}: {exc.detail()} ({relative} is incomplete)")
        return
    except OSError as exc:
        response.close()
        if is_disk_error(exc):
            raise disk_error(exc, path) from None
        result.errors.append(f"cannot write {path}: {exc.strerror or exc}")
        return
    except DiskError:
        response.close()
        raise
    result.container_logs.append(SavedFile(relative, written))


def _save_ray_log_dir(kube: KubeClient, pod: str, namespace: str, container: str, folder: str,
                      result: PodLogResult, on_problem: Callable[[str], None] | None,
                      cancel: threading.Event | None) -> None:
    from kubectl_ray.kube.podexec import open_exec
    from kubectl_ray.safetar import TarExtractor

    def skipped(message: str) -> None:
        result.skipped_entries.append(message)
        if on_problem is not None:
            on_problem(message)

    def failed(message: str) -> None:
        result.failed_entries.append(message)
        if on_problem is not None:
            on_problem(message)

    try:
        session = open_exec(kube, pod, namespace, TAR_COMMAND, container)
    except KubectlRayError as exc:
        result.errors.append(f"{RAY_LOG_DIR}: {exc.detail()}")
        return
    with session:
        destination = os.path.join(folder, RAY_FOLDER)
        problem = _local_step(destination, lambda: make_dirs_inside(folder, destination))
        if problem:
            result.errors.append(f"cannot use folder {destination}: {problem}")
            return
        extractor = TarExtractor(destination, skipped, failed)
        broken: str | None = None
        try:
            for view in session.stdout(cancel):
                extractor.feed(view)
            extracted = extractor.finish()
            result.ray_files, result.ray_bytes = extracted.files, extracted.bytes
        except UnsafeTarError as exc:
            extractor.close()
            broken = str(exc)
            try:
                session.drain(cancel)  # the rest of the stream carries the command's exit status
            except KubectlRayError:
                pass  # the archive's own problem is the one to report
        except KubectlRayError as exc:  # the connection dropped: what arrived stays, named incomplete
            extractor.close()
            result.errors.append(f"{RAY_LOG_DIR} from container {container}: {exc.detail()} "
                                 f"(the copy in {RAY_FOLDER}/ is incomplete)")
            return
        except BaseException:  # Ctrl-C, a failing disk: no partial file is left behind
            extractor.abort()
            raise
    _judge_tar(session.failure(), session.stderr, broken, container, result)


def _judge_tar(failure: str | None, stderr: bytes, broken: str | None, container: str, result: PodLogResult) -> None:
    text = stderr.decode("utf-8", "replace").strip()
    if failure and _exit_code(failure) == 1 and broken is None:
        # GNU tar exits 1 when a file changed while it was read: Ray keeps writing its logs.
        result.warnings.append(f"tar reported files that changed while being copied{_first_line(text, ': ')}")
    elif failure:
        result.errors.append(f"could not copy {RAY_LOG_DIR} from container {container}: {failure}"
                             f"{_first_line(text, '; tar said: ')}")
    elif broken:
        result.errors.append(f"{RAY_LOG_DIR} from container {container}: {broken}")
    if result.failed_entries:
        count = len(result.failed_entries)
        result.errors.append(f"{count} Ray log entr{'ies' if count != 1 else 'y'} could not be written "
                             "(named above)")


def _checked(chunks: Iterable[bytes], cancel: threading.Event | None) -> Iterator[bytes]:
    for chunk in chunks:
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        yield chunk


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _exit_code(failure: str | None) -> int | None:
    match = _EXIT_CODE.search(failure or "")
    return int(match.group(1)) if match else None


def _first_line(text: str, prefix: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return prefix + lines[0] if lines else ""


# --- a link instead of a download ----------------------------------------------------------------------------


GKE_FLUENTBIT_WARNING = ("Warning: The head pod does not have a 'fluentbit' container. Logs might not be exported "
                         "to Google Cloud Logging.")
GKE_CONTEXT_WARNING = ("Warning: The current kubectl context does not appear to be a GKE cluster. The generated link "
                       "may not work.")


def gke_logs_link(kube: KubeClient, namespace: str, cluster: str, node_type: str) -> tuple[str, list[str]]:
    """Upstream's `log --link gke`: a Cloud Logging URL for the cluster's pods, and warnings for stderr.

    The project comes from the context in use (`gke_PROJECT_LOCATION_NAME`); upstream reads the
    kubeconfig's current-context and ignores --context, which we do not copy.
    """
    from urllib.parse import quote_plus

    from kubectl_ray.kube.resources import PODS

    warnings = []
    try:
        heads = kube.list(PODS, namespace, label_selector=f"ray.io/node-type=head,ray.io/cluster={cluster}")
    except KubectlRayError:
        heads = []  # upstream only warns when it could look
    if heads:
        containers = _field(heads[0], "spec").get("containers")
        if not any(isinstance(c, dict) and c.get("name") == "fluentbit" for c in
                   (containers if isinstance(containers, list) else [])):
            warnings.append(GKE_FLUENTBIT_WARNING)
    lines = ['resource.type="k8s_container"', f'resource.labels.namespace_name="{namespace}"',
             f'labels."k8s-pod/ray_io/cluster"="{cluster}"']
    if node_type in ("head", "worker"):
        lines.append(f'labels."k8s-pod/ray_io/node-type"="{node_type}"')
    else:
        lines.append('labels."k8s-pod/ray_io/is-ray-node"="yes"')
    url = "https://console.cloud.google.com/logs/query;query=" + quote_plus("\n".join(lines), safe="")
    context = kube.config.context or ""
    if context.startswith("gke_"):
        project = context.split("_", 2)[1]
        url += "?project=" + quote_plus(project, safe="")
    else:
        warnings.append(GKE_CONTEXT_WARNING)
    return url, warnings
