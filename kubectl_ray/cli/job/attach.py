"""`kubectl ray job logs` and `kubectl ray job stop`: attach to the Ray job behind a RayJob."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

import click

from kubectl_ray import names
from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlCommand, examples, kube_command
from kubectl_ray.cli.job.flags import dashboard_flags, parse_headers
from kubectl_ray.cli.job.follow import follow_to_end
from kubectl_ray.env import CommandEnv
from kubectl_ray.errors import KubectlRayError
from kubectl_ray.printing import info
from kubectl_ray.shapes import text
from kubectl_ray.stdio import write_stdout

if TYPE_CHECKING:
    from kubectl_ray.ray.dashboard import DashboardClient

STOP_WAIT_TIMEOUT = 60.0
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")


@dataclass
class AttachedJob:
    name: str
    namespace: str
    job_id: str
    cluster: dict[str, Any] | None


def resolve_job(env: CommandEnv, name_arg: str, *, need_cluster: bool) -> AttachedJob:
    """RayJob NAME -> its Ray job id and RayCluster (read from status, as KubeRay sets them)."""
    from kubectl_ray.kube.resources import RAYCLUSTERS
    from kubectl_ray.kube.targets import read_target, require_cluster
    from kubectl_ray.parsing import parse_resource_ref

    ref = parse_resource_ref(name_arg, default_type="rayjob", allowed=("rayjob",))
    kube = env.kube()
    target = read_target(kube, ref, env.namespace)
    rayjob = target.obj
    job_id = text(rayjob, "status", "jobId") or text(rayjob, "spec", "jobId")
    if not job_id:
        raise KubectlRayError(f'RayJob "{ref.name}" has no Ray job id yet (spec.jobId and status.jobId are empty)')
    cluster = None
    if target.cluster_name or need_cluster:
        cluster_name = require_cluster(target)
        cluster = kube.get_or_none(RAYCLUSTERS, cluster_name, target.namespace)
        if cluster is None and need_cluster:
            raise KubectlRayError(f'RayCluster "{cluster_name}" of RayJob "{ref.name}" no longer exists (deleted after '
                                  "the job finished?); its Ray job and logs went with it")
    return AttachedJob(ref.name, target.namespace, str(job_id), cluster)


@contextmanager
def attached_dashboard(env: CommandEnv, job_ref: AttachedJob, address: str | None, headers: str | None,
                       verify: str | None) -> Iterator["DashboardClient"]:
    from kubectl_ray.ray.connect import open_dashboard, wait_for_dashboard
    from kubectl_ray.ray.dashboard import parse_verify

    with open_dashboard(env, cluster=job_ref.cluster, address=address, headers=parse_headers(headers),
                        verify=parse_verify(verify), note=info) as client:
        wait_for_dashboard(client, note=info, given_address=address is not None)
        yield client


def _not_on_cluster(job_ref: AttachedJob) -> KubectlRayError:
    return KubectlRayError(f'Ray job {job_ref.job_id} of RayJob "{job_ref.name}" is not on its cluster: it was never '
                           "submitted (an interrupted submit?) or the cluster was recreated")


@click.command("logs", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
             short_help="Print or follow the logs of a RayJob's Ray job", epilog=examples(
    "# The log so far",
    "kubectl ray job logs my-job",
    "",
    "# Follow until the job ends (exit 1 if it failed), e.g. after Ctrl-C in job submit",
    "kubectl ray job logs my-job -f",
))
@click.argument("name", metavar="NAME", shell_complete=names.ray_jobs())
@click.option("-f", "--follow", is_flag=True, help="Stream the logs until the job ends; exit 1 if it FAILED.")
@dashboard_flags
@kube_command
def logs(env: CommandEnv, name: str, follow: bool, address: str | None, headers: str | None,
         verify: str | None) -> None:
    """Print the driver log of the Ray job behind RayJob NAME (its spec.jobId / status.jobId)."""
    from kubectl_ray.ray.dashboard import JobNotFound
    from kubectl_ray.ray.logtail import LogFollower

    job_ref = resolve_job(env, name, need_cluster=address is None)
    with attached_dashboard(env, job_ref, address, headers, verify) as client:
        try:
            if follow:
                follow_to_end(client, job_ref.job_id, job_ref.name, job_ref.namespace)
            else:
                follower = LogFollower(client, job_ref.job_id, write_stdout, note=info)
                follower.print_once()
        except JobNotFound:
            raise _not_on_cluster(job_ref) from None


@click.command("stop", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
             short_help="Stop the Ray job of a RayJob", epilog=examples(
    "# Ask Ray to stop the job and wait until it has",
    "kubectl ray job stop my-job",
    "",
    "# Only send the request",
    "kubectl ray job stop my-job --no-wait",
))
@click.argument("name", metavar="NAME", shell_complete=names.ray_jobs())
@click.option("--no-wait", is_flag=True, help="Return once Ray accepted the request.")
@dashboard_flags
@kube_command
def stop(env: CommandEnv, name: str, no_wait: bool, address: str | None, headers: str | None,
         verify: str | None) -> None:
    """Stop the Ray job behind RayJob NAME (the RayJob and its cluster stay; KubeRay sees STOPPED)."""
    from kubectl_ray.ray.dashboard import JobNotFound

    job_ref = resolve_job(env, name, need_cluster=address is None)
    with attached_dashboard(env, job_ref, address, headers, verify) as client:
        try:
            stopped = client.stop_job(job_ref.job_id)
            if not stopped:
                status = text(client.get_job(job_ref.job_id), "status") or "unknown"
                click.echo(f"Ray job {job_ref.job_id} (RayJob {job_ref.name}) had already finished: {status}")
                return
            if no_wait:
                click.echo(f"Ray job {job_ref.job_id} (RayJob {job_ref.name}): stop requested")
                return
            status = _wait_until_terminal(client, job_ref.job_id)
        except JobNotFound:
            raise _not_on_cluster(job_ref) from None
    if status not in TERMINAL:
        raise KubectlRayError(f"Ray job {job_ref.job_id} is still {status} {STOP_WAIT_TIMEOUT:g}s after the stop request")
    click.echo(f"Ray job {job_ref.job_id} (RayJob {job_ref.name}) stopped: {status}")


def _wait_until_terminal(client: "DashboardClient", job_id: str) -> str:
    deadline = time.monotonic() + STOP_WAIT_TIMEOUT
    while True:
        status = text(client.get_job(job_id), "status")
        if status in TERMINAL or time.monotonic() >= deadline:
            return status
        time.sleep(0.5)
