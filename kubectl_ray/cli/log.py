"""`kubectl ray log`: download the logs of every Ray node of a cluster, job or service, in parallel."""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import click

from kubectl_ray import names
from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlCommand, examples, kube_command
from kubectl_ray.env import CommandEnv
from kubectl_ray.errors import KubectlRayError, UsageError

if TYPE_CHECKING:
    from kubectl_ray.kube.podlogs import PodLogResult
    from kubectl_ray.parsing import ResourceRef

NODE_TYPES = ("all", "head", "worker")
DEFAULT_CONCURRENCY = 4


@dataclass(frozen=True)
class LogOptions:
    ref: "ResourceRef"
    out_dir: str  # where pod folders go
    out_dir_given: bool
    node_type: str  # all | head | worker
    worker_groups: tuple[str, ...]
    previous: bool
    max_concurrency: int
    overwrite: bool = False


@click.command("log", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS, epilog=examples(
    "# Logs of every node of RayCluster demo into ./demo/<pod>/",
    "kubectl ray log demo",
    "",
    "# Only the head node, into an existing directory",
    "kubectl ray log demo --node-type head --out-dir /tmp/ray-logs",
    "",
    "# The workers of one group, from the containers that ran before the last restart",
    "kubectl ray log demo --worker-group gpu-group --previous",
    "",
    "# The cluster behind a RayJob, 8 pods at a time",
    "kubectl ray log rayjob/my-job --max-concurrency 8",
))
@click.argument("target", metavar="(NAME | TYPE/NAME)", shell_complete=names.ray_targets())
@click.option("--out-dir", default=None, metavar="DIR",
              help="Existing directory to save the logs in (default: ./NAME, created if needed).")
@click.option("--node-type", type=click.Choice(NODE_TYPES, case_sensitive=False), default=None,
              help="Which Ray nodes: all (default), head or worker.")
@click.option("--worker-group", "worker_groups", multiple=True, metavar="GROUP",
              help="Only the workers of this group (repeatable); implies --node-type worker unless it is given.")
@click.option("-p", "--previous", is_flag=True,
              help="Container logs of the previous instance of each container (after a restart).")
@click.option("--max-concurrency", type=click.IntRange(min=1, max=64), default=DEFAULT_CONCURRENCY, show_default=True,
              metavar="N",
              help="How many pods to download at the same time.")
@click.option("--overwrite", is_flag=True,
              help="Also write into pod folders that hold files this command did not write.")
@kube_command
def log(env: CommandEnv, target: str, out_dir: str | None, node_type: str | None, worker_groups: tuple[str, ...],
        previous: bool, max_concurrency: int, overwrite: bool) -> None:
    """Download the logs of a Ray cluster's nodes: each container's stdout and Ray's log directory.

    TYPE is raycluster (default), rayjob or rayservice, in any case. Each pod gets a folder
    <out-dir>/<pod>/ with stdout.log (the Ray container), <container>.log for other containers such
    as the autoscaler, and the contents of /tmp/ray/session_latest/logs/ copied with tar through the
    pod exec API. Links, devices and paths leading out of the pod's folder are skipped and named.
    Files of an earlier run are overwritten whole; a pod folder holding files this command did not
    write is left alone unless --overwrite. Exit code 1 if any pod could not be saved completely.
    """
    options = complete_options(target, out_dir, node_type, worker_groups, previous, max_concurrency)
    run_log(env, replace(options, overwrite=overwrite))


def complete_options(target: str, out_dir: str | None, node_type: str | None, worker_groups: tuple[str, ...],
                     previous: bool, max_concurrency: int) -> LogOptions:
    """Parse and check every flag; no I/O except looking at --out-dir."""
    from kubectl_ray.parsing import parse_resource_ref, validate_label_value

    ref = parse_resource_ref(target)
    node = (node_type or ("worker" if worker_groups else "all")).lower()
    if worker_groups and node == "head":
        raise UsageError("--worker-group selects worker pods; it cannot be combined with --node-type head")
    for group in worker_groups:
        if not group:
            raise UsageError("--worker-group must not be empty")
        validate_label_value("--worker-group", "ray.io/group", group)
    if out_dir is not None:
        check_out_dir(out_dir)
        directory, given = out_dir, True
    else:
        directory, given = os.path.join(".", ref.name), False
        if os.path.exists(directory) and not os.path.isdir(directory):
            raise UsageError(f"Path is not a directory. {directory} exists and is not a directory; "
                             "pass --out-dir DIR to save the logs elsewhere")
    return LogOptions(ref, directory, given, node, tuple(dict.fromkeys(worker_groups)), previous, max_concurrency)


def check_out_dir(path: str) -> None:
    if not path.strip():
        raise UsageError("--out-dir must not be empty")
    if not os.path.exists(path):
        raise UsageError(f"Directory does not exist. --out-dir {path} was not found; create it first, "
                         "or leave out --out-dir to use ./NAME")
    if not os.path.isdir(path):
        raise UsageError(f"Path is not a directory. --out-dir {path} is a file; please give a directory")


def pod_selector(cluster: str, node_type: str, worker_groups: tuple[str, ...]) -> str:
    """The label selector sent to the server (select_pods filters what it cannot express)."""
    parts = [f"ray.io/cluster={cluster}"]
    if node_type != "all":
        parts.append(f"ray.io/node-type={node_type}")
    if worker_groups and node_type == "worker":
        parts.append(f"ray.io/group in ({','.join(worker_groups)})")
    return ",".join(parts)


def select_pods(pods: list[dict[str, Any]], node_type: str, worker_groups: tuple[str, ...]) -> list[dict[str, Any]]:
    """Head first, then workers by name; with --worker-group, only those groups' workers (and the head for 'all')."""
    def labels(pod: dict[str, Any]) -> dict[str, str]:
        return (pod.get("metadata") or {}).get("labels") or {}

    chosen = []
    for pod in pods:
        kind = labels(pod).get("ray.io/node-type")
        if kind not in ("head", "worker"):
            continue  # e.g. redis-cleanup jobs carry the cluster label too
        if worker_groups and kind == "worker" and labels(pod).get("ray.io/group") not in worker_groups:
            continue
        if node_type != "all" and kind != node_type:
            continue
        chosen.append(pod)
    return sorted(chosen, key=lambda p: (labels(p).get("ray.io/node-type") != "head", p["metadata"]["name"]))


def resolve_cluster(env: CommandEnv, ref: "ResourceRef") -> str:
    """The RayCluster behind NAME or TYPE/NAME, through the resolver every command uses. A RayCluster's
    pods are found by label (as upstream: even while it is being deleted); NotFound comes from run_log."""
    if ref.type == "raycluster":
        return ref.name
    from kubectl_ray.kube.targets import read_target, require_cluster

    return require_cluster(read_target(env.kube(), ref, env.namespace))


def run_log(env: CommandEnv, options: LogOptions) -> None:
    from kubectl_ray.kube.resources import PODS, RAYCLUSTERS

    kube = env.kube()
    cluster = resolve_cluster(env, options.ref)
    selector = pod_selector(cluster, options.node_type, options.worker_groups)
    pods = select_pods(kube.list(PODS, env.namespace, label_selector=selector), options.node_type,
                       options.worker_groups)
    if not pods:
        detail = f"selector {selector}"
        if options.worker_groups:
            detail += f", worker group {', '.join(options.worker_groups)}"
        if options.ref.type == "raycluster" and kube.get_or_none(RAYCLUSTERS, cluster, env.namespace) is None:
            from kubectl_ray.kube.targets import not_found

            raise not_found(kube, options.ref, env.namespace)
        raise KubectlRayError(f'No Ray nodes found for resource {cluster} in namespace "{env.namespace}" ({detail})')
    if not options.out_dir_given:
        os.makedirs(options.out_dir, exist_ok=True)
    results = download_all(env, options, pods)
    report(options, results)


def download_all(env: CommandEnv, options: LogOptions, pods: list[dict[str, Any]]) -> list["PodLogResult"]:
    """Download pods with at most --max-concurrency at once; one progress line per finished pod."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    from kubectl_ray.kube.podlogs import download_pod_logs

    kube = env.kube()
    printer = _Progress(len(pods))
    which = {"all": "head and worker", "head": "head", "worker": "worker"}[options.node_type]
    printer.line(f"Downloading logs of {len(pods)} {which} pod{'s' if len(pods) != 1 else ''} of cluster "
                 f"{_cluster_label(pods)} to {options.out_dir} ({min(options.max_concurrency, len(pods))} at a time)")
    cancel = threading.Event()
    results: dict[str, "PodLogResult"] = {}

    def one(pod: dict[str, Any]) -> "PodLogResult":
        name = pod["metadata"]["name"]
        return download_pod_logs(kube, pod, options.out_dir, previous=options.previous, cancel=cancel,
                                 overwrite=options.overwrite,
                                 on_skip=lambda message: printer.line(f"warning: {name}: {message}"))

    pool = ThreadPoolExecutor(max_workers=min(options.max_concurrency, len(pods)), thread_name_prefix="ray-log")
    try:
        pending = {pool.submit(one, pod): pod for pod in pods}
        while pending:
            done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                pod = pending.pop(future)
                result = _result_of(future, pod, options.out_dir)
                results[result.pod] = result
                printer.pod_done(result)
    except BaseException:  # Ctrl-C: stop every download between two chunks, then leave
        cancel.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [results[p["metadata"]["name"]] for p in pods]


def _result_of(future: Any, pod: dict[str, Any], out_dir: str) -> "PodLogResult":
    from kubectl_ray.kube.podlogs import PodLogResult

    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - one pod's surprise must not hide the others' results
        name = pod["metadata"]["name"]
        message = exc.render().removeprefix("error: ") if isinstance(exc, KubectlRayError) else \
            f"unexpected {type(exc).__name__}: {exc}"
        return PodLogResult(pod=name, folder=os.path.join(out_dir, name), errors=[message])


def _cluster_label(pods: list[dict[str, Any]]) -> str:
    labels = (pods[0].get("metadata") or {}).get("labels") or {}
    return labels.get("ray.io/cluster", "?")


class _Progress:
    """Lines on stderr from several threads, never interleaved."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.finished = 0
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        with self._lock:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    def pod_done(self, result: "PodLogResult") -> None:
        with self._lock:
            self.finished += 1
            count = f"[{self.finished}/{self.total}]"
        self.line(f"{count} {result.pod}: {describe(result)}")


def describe(result: "PodLogResult") -> str:
    saved = [f"{f.name} ({human_bytes(f.bytes)})" for f in result.container_logs]
    if result.ray_files or not result.errors:
        saved.append(f"{result.ray_files} Ray log file{'s' if result.ray_files != 1 else ''} "
                     f"({human_bytes(result.ray_bytes)})")
    parts = [", ".join(saved) if saved else "nothing saved"]
    if result.skipped_entries:
        parts.append(f"{len(result.skipped_entries)} unsafe entr{'ies' if len(result.skipped_entries) != 1 else 'y'} "
                     "skipped")
    parts += result.notes + result.warnings
    text = "; ".join(parts)
    if result.errors:
        return f"FAILED: {'; '.join(result.errors)} (saved: {text})"
    return text


def human_bytes(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"  # pragma: no cover


def report(options: LogOptions, results: list["PodLogResult"]) -> None:
    good = [r for r in results if r.ok]
    failed = [r for r in results if not r.ok]
    total = sum(r.total_bytes for r in results)
    if not failed:
        sys.stdout.write(f"Saved the logs of {len(results)} pod{'s' if len(results) != 1 else ''} "
                         f"({human_bytes(total)}) to {options.out_dir}\n")
        return
    sys.stdout.write(f"Saved the logs of {len(good)} of {len(results)} pods ({human_bytes(total)}) to "
                     f"{options.out_dir}\n")
    names = ", ".join(r.pod for r in failed)
    raise KubectlRayError(f"{len(failed)} of {len(results)} pods failed: {names} (see the lines above)")
