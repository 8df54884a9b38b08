"""`kubectl ray log`: download the logs of every Ray node of a cluster, job or service, in parallel."""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import click

from kubectl_ray import names
from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlCommand, examples, kube_command
from kubectl_ray.env import CommandEnv
from kubectl_ray.errors import KubectlRayError, UsageError
from kubectl_ray.stdio import write_stdout

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
    "# Only the head node, into /tmp/ray-logs (created if needed)",
    "kubectl ray log demo --node-type head --out-dir /tmp/ray-logs",
    "",
    "# The workers of one group, from the containers that ran before the last restart",
    "kubectl ray log demo --worker-group gpu-group --previous",
    "",
    "# The cluster behind a RayJob, 8 pods at a time",
    "kubectl ray log rayjob/my-job --max-concurrency 8",
    "",
    "# Print a link to Google Cloud Logging for the cluster's logs instead of downloading them",
    "kubectl ray log demo --link gke",
))
@click.argument("target", metavar="(NAME | TYPE/NAME)", shell_complete=names.ray_targets())
@click.option("--out-dir", default=None, metavar="DIR",
              help="Directory to save the logs in, created if needed (default: ./NAME).")
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
@click.option("--link", default=None, metavar="gke", shell_complete=names.choices("gke"),
              help="Print a link to a cloud console to view the logs instead of downloading them; supports: gke.")
@kube_command
def log(env: CommandEnv, target: str, out_dir: str | None, node_type: str | None, worker_groups: tuple[str, ...],
        previous: bool, max_concurrency: int, overwrite: bool, link: str | None) -> None:
    """Download the logs of a Ray cluster's nodes: each container's log and Ray's log directory.

    TYPE is raycluster (default), rayjob or rayservice, in any case. Each pod gets a folder
    <out-dir>/<pod>/ with containers/<container>.log for every container (the Ray container, the
    autoscaler, sidecars) and ray/ holding the contents of /tmp/ray/session_latest/logs/, copied
    with tar through the pod exec API. Links, devices and paths leading out of the pod's folder are
    skipped and named. Files of an earlier run are overwritten whole; a pod folder holding files this
    command did not write is left alone unless --overwrite. Exit code 1 if any pod could not be
    saved completely (an archive entry that could not be written counts), or if the disk failed.
    """
    options = complete_options(target, out_dir, node_type, worker_groups, previous, max_concurrency)
    options = replace(options, overwrite=overwrite)
    if link is not None:
        check_link_options(link, options)
        print_link(env, options)
        return
    run_log(env, options)


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
    """A missing --out-dir is created once there is something to save; a file in its place is an error."""
    if not path.strip():
        raise UsageError("--out-dir must not be empty")
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"Path is not a directory. --out-dir {path} is a file; please give a directory")


def check_link_options(link: str, options: LogOptions) -> None:
    """Upstream's rules for --link, plus: the flags that only shape a download do not go with it."""
    if link != "gke":
        raise UsageError(f'unsupported link type "{link}", only "gke" is supported')
    given = [flag for flag, used in (("--out-dir", options.out_dir_given), ("--worker-group", options.worker_groups),
                                     ("--previous", options.previous), ("--overwrite", options.overwrite)) if used]
    if given:
        raise UsageError(f"{given[0]} is incompatible with --link")


def print_link(env: CommandEnv, options: LogOptions) -> None:
    from kubectl_ray.kube.podlogs import gke_logs_link

    cluster = resolve_cluster(env, options.ref)
    url, warnings = gke_logs_link(env.kube(), env.namespace, cluster, options.node_type)
    for warning in warnings:
        sys.stderr.write(warning + "\n")
    write_stdout(url + "\n")


def resolve_cluster(env: CommandEnv, ref: "ResourceRef") -> str:
    """The RayCluster behind NAME or TYPE/NAME, through the resolver every command uses. A RayCluster's
    pods are found by label (as upstream: even while it is being deleted); NotFound comes from run_log."""
    if ref.type == "raycluster":
        return ref.name
    from kubectl_ray.kube.targets import read_target, require_cluster

    return require_cluster(read_target(env.kube(), ref, env.namespace))


def run_log(env: CommandEnv, options: LogOptions) -> None:
    from kubectl_ray.kube.podlogs import download_logs, pod_selector, select_pods
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
    create_out_dir(options.out_dir)
    progress = _Progress(len(pods))
    which = {"all": "head and worker", "head": "head", "worker": "worker"}[options.node_type]
    progress.line(f"Downloading logs of {len(pods)} {which} pod{'s' if len(pods) != 1 else ''} of cluster "
                  f"{cluster} to {options.out_dir} ({min(options.max_concurrency, len(pods))} at a time)")
    results = download_logs(kube, pods, options.out_dir, max_concurrency=options.max_concurrency,
                            previous=options.previous, overwrite=options.overwrite,
                            on_problem=lambda pod, message: progress.line(f"warning: {pod}: {message}"),
                            on_done=progress.pod_done)
    report(options, results)


def create_out_dir(path: str) -> None:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise KubectlRayError(f"cannot create directory {path}: {exc.strerror or exc}") from None


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
    if result.ray_files or result.ok:
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
        write_stdout(f"Saved the logs of {len(results)} pod{'s' if len(results) != 1 else ''} "
                     f"({human_bytes(total)}) to {options.out_dir}\n")
        return
    write_stdout(f"Saved the logs of {len(good)} of {len(results)} pods ({human_bytes(total)}) to "
                 f"{options.out_dir}\n")
    names = ", ".join(r.pod for r in failed)
    raise KubectlRayError(f"{len(failed)} of {len(results)} pods failed: {names} (see the lines above)")
