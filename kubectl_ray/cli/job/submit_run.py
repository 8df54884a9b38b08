"""`kubectl ray job submit`, Run: create the RayJob, wait for its RayCluster, reach the dashboard,
upload packages, submit and follow. Whatever fails or is interrupted before the Ray job exists, the
RayJob this command created is deleted again (unless --keep), and it says so.
"""

from __future__ import annotations

import math
import signal
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

import click

from kubectl_ray.cli.job.follow import follow_to_end
from kubectl_ray.cli.job.submit_options import SubmitOptions
from kubectl_ray.env import CommandEnv
from kubectl_ray.errors import Interrupted, KubectlRayError
from kubectl_ray.printing import info
from kubectl_ray.shapes import mapping, name_of, objects, text

if TYPE_CHECKING:
    from kubectl_ray.kube.client import KubeClient

CLUSTER_NAME_TIMEOUT = 60.0  # seconds KubeRay gets to name the cluster (capped by --cluster-timeout)

CLEANUP_ATTEMPTS = 4  # 0.5 + 1 + 2 s of backoff: rides out a restarting API server


class _Cleanup:
    """Deletes the RayJob this command created when something fails before the Ray job exists."""

    def __init__(self, kube: "KubeClient", opts: SubmitOptions) -> None:
        self.kube = kube
        self.opts = opts
        self.armed = False

    def run(self) -> str:
        """Delete (unless --keep) and return the sentence saying what happened."""
        from kubectl_ray.kube.resources import RAYJOBS

        name, ns = self.opts.name, self.opts.namespace
        if not self.armed:
            return ""
        self.armed = False
        if self.opts.keep:
            return f'kept RayJob "{name}" (--keep); delete it with: kubectl ray delete rayjob/{name} -n {ns}'
        with _ignoring_sigint():
            problem = self._delete_with_retries(RAYJOBS, name, ns)
        if problem is not None:
            return (f'could not delete RayJob "{name}" created by this command ({problem}); delete it with: '
                    f"kubectl ray delete rayjob/{name} -n {ns}")
        return f'deleted RayJob "{name}" created by this command'

    def _delete_with_retries(self, res: Any, name: str, ns: str) -> str | None:
        """DELETE, retried when the API is unreachable or failing (a lost answer makes the retry's 404
        mean success). Returns None once deleted, else the last error."""
        from kubectl_ray.kube.errors import ApiError, ConnectionFailed

        problem = ""
        for attempt in range(CLEANUP_ATTEMPTS):
            if attempt:
                time.sleep(0.5 * 2 ** (attempt - 1))
            try:
                self.kube.delete(res, name, ns)
                return None
            except ApiError as exc:
                if exc.status == 404:
                    return None
                problem = exc.render()
                if exc.status != 429 and exc.status < 500:
                    break
            except ConnectionFailed as exc:
                problem = exc.render().removeprefix("error: ")
            except KubectlRayError as exc:
                return exc.render().removeprefix("error: ")
        return f"{problem} (after {attempt + 1} attempts)" if attempt else problem


@contextmanager
def _ignoring_sigint() -> Iterator[None]:
    """A second Ctrl-C must not interrupt the cleanup itself (main thread only)."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_submit(env: CommandEnv, opts: SubmitOptions) -> None:
    from kubectl_ray.kube.resources import RAYJOBS

    kube = env.kube()
    if opts.generated_id:
        info(f"Generated submission ID for Ray job: {opts.submission_id}")
    cleanup = _Cleanup(kube, opts)
    try:
        kube.create(RAYJOBS, opts.rayjob, opts.namespace)
        cleanup.armed = True
        info(f"rayjob.ray.io/{opts.name} created")
        cluster = _wait_for_cluster(kube, opts)
        _submit_and_follow(env, opts, cluster, cleanup)
    except KeyboardInterrupt:
        done = cleanup.run()
        raise Interrupted("interrupted" + (f"; {done}" if done else "")) from None
    except KubectlRayError as exc:
        done = cleanup.run()
        if not done:
            raise
        text = exc.render()
        text = text[len("error: "):] if text.startswith("error: ") else text
        raise KubectlRayError(f"{text}; {done}", exit_code=exc.exit_code) from None
    except Exception:  # a bug: still do not leave the RayJob behind, then let the CLI report it
        done = cleanup.run()
        if done:
            info(done)
        raise


def _wait_for_cluster(kube: "KubeClient", opts: SubmitOptions) -> dict[str, Any]:
    from kubectl_ray.kube.resources import RAYCLUSTERS, RAYJOBS
    from kubectl_ray.parsing import format_duration

    start = time.monotonic()
    name_timeout = min(CLUSTER_NAME_TIMEOUT, opts.cluster_timeout)
    cluster_name = None
    last = ""
    for rayjob in observe(kube, RAYJOBS, opts.namespace, opts.name, start + name_timeout):
        if rayjob is None:
            raise KubectlRayError(f'RayJob "{opts.name}" was deleted while waiting for its RayCluster')
        status = mapping(rayjob, "status")
        if status.get("jobDeploymentStatus") in ("ValidationFailed", "Failed"):
            raise KubectlRayError(f'RayJob "{opts.name}" {status.get("jobDeploymentStatus")}: '
                                  f'{text(status, "message") or text(status, "reason") or "no message"}')
        cluster_name = text(status, "rayClusterName")
        if cluster_name:
            break
        summary = f'Waiting for KubeRay to create the RayCluster of RayJob "{opts.name}"'
        if summary != last:
            info(summary)
            last = summary
    if not cluster_name:
        raise KubectlRayError(f'RayJob "{opts.name}" got no RayCluster within {format_duration(name_timeout)} '
                              f"(status.rayClusterName is empty): is the KubeRay operator running? "
                              f"Try: kubectl ray debug rayjob/{opts.name}")
    deadline = start + opts.cluster_timeout
    state = "not created yet"
    for cluster in observe(kube, RAYCLUSTERS, opts.namespace, cluster_name, deadline):
        ready, state = cluster_readiness(cluster)
        line = f'RayCluster "{cluster_name}" is ready' if ready else f'Waiting for RayCluster "{cluster_name}": {state}'
        if line != last:
            info(line)
            last = line
        if ready:
            assert cluster is not None
            return cluster
    raise KubectlRayError(f'timed out after {format_duration(opts.cluster_timeout)} waiting for RayCluster '
                          f'"{cluster_name}" of RayJob "{opts.name}" to be ready (last state: {state})')


def cluster_readiness(cluster: dict[str, Any] | None) -> tuple[bool, str]:
    """(ready, one-line state): ready on RayClusterProvisioned or HeadPodReady True, or state ready."""
    if cluster is None:
        return False, "not created yet"
    status = mapping(cluster, "status")
    conditions = {text(c, "type"): c for c in objects(status, "conditions")}
    ready = status.get("state") == "ready" or any(
        (conditions.get(t) or {}).get("status") == "True" for t in ("RayClusterProvisioned", "HeadPodReady"))
    parts = [f"state {text(status, 'state')}" if text(status, "state") else "no state yet"]
    for ctype in ("HeadPodReady", "RayClusterProvisioned", "ReplicaFailure"):
        cond = conditions.get(ctype)
        if cond and cond.get("status") != ("True" if ctype != "ReplicaFailure" else "False"):
            detail = text(cond, "reason")
            if text(cond, "message"):
                detail = f"{detail}: {text(cond, 'message')}" if detail else text(cond, "message")
            parts.append(f"{ctype}={text(cond, 'status')}" + (f" ({detail})" if detail else ""))
    if text(status, "reason") and status.get("state") != "ready":
        parts.append(text(status, "reason"))
    return ready, ", ".join(parts)


def observe(kube: "KubeClient", res: Any, namespace: str, name: str, deadline: float,
            poll: float = 2.0) -> Iterator[dict[str, Any] | None]:
    """The object (None while it does not exist) now and after every change, until the deadline.

    A GET, then watches from its resourceVersion; when the server ends a watch (or the version is
    too old) it GETs again. If watching is not allowed, it polls every `poll` seconds.
    """
    from kubectl_ray.kube.errors import ApiError, ConnectionFailed, WatchExpired

    obj = kube.get_or_none(res, name, namespace)
    yield obj
    can_watch = True
    while time.monotonic() < deadline:
        remaining = deadline - time.monotonic()
        if can_watch:
            version = text(obj, "metadata", "resourceVersion") or None
            try:
                for event in kube.watch(res, namespace, name=name, resource_version=version,
                                        timeout_seconds=max(1, min(60, math.ceil(remaining)))):
                    kind = event["type"]  # the client checked the event: a string type and an object
                    if kind == "BOOKMARK":
                        continue
                    obj = None if kind == "DELETED" else event["object"]
                    yield obj
                    if time.monotonic() >= deadline:
                        return
            except WatchExpired:
                pass
            except ConnectionFailed:  # a dropped watch is not the end of the wait: GET again below
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            except ApiError as exc:
                if exc.status not in (403, 405):
                    raise
                can_watch = False
        else:
            time.sleep(min(poll, max(0.0, remaining)))
        if time.monotonic() < deadline:
            obj = kube.get_or_none(res, name, namespace)
            yield obj


def _submit_and_follow(env: CommandEnv, opts: SubmitOptions, cluster: dict[str, Any], cleanup: _Cleanup) -> None:
    from kubectl_ray.ray.connect import open_dashboard, wait_for_dashboard
    from kubectl_ray.ray.dashboard import DashboardUnreachable, JobNotFound
    from kubectl_ray.ray.packaging import upload_missing

    with open_dashboard(env, cluster=cluster, address=opts.address, headers=opts.headers, verify=opts.verify,
                        verbose=opts.verbose, note=info) as client:
        if opts.address:
            info(f"Using address {client.address} (no port-forwarding)")
        version = wait_for_dashboard(client, note=info, given_address=bool(opts.address))
        if opts.verbose:
            info(f"Ray {text(version, 'ray_version') or '?'} dashboard at {client.address}")
        upload_missing(client, opts.plan, info=info)
        try:
            client.submit_job(opts.payload)
        except DashboardUnreachable:
            try:  # the answer may have been lost after Ray accepted the job
                client.get_job(opts.submission_id)
            except (DashboardUnreachable, JobNotFound):
                raise KubectlRayError(f"submitting Ray job {opts.submission_id} failed: the connection to the Ray "
                                      f"dashboard at {client.address} broke") from None
        cleanup.armed = False  # from here on the RayJob is a running job's: never delete it
        info(f'Submitted Ray job {opts.submission_id} to RayCluster "{name_of(cluster)}" '
             f'(RayJob "{opts.name}")')
        if opts.no_wait:
            click.echo(opts.submission_id)
            info(f"Follow its logs: kubectl ray job logs {opts.name} -f -n {opts.namespace}")
            info(f"Stop it:         kubectl ray job stop {opts.name} -n {opts.namespace}")
            return
        follow_to_end(client, opts.submission_id, opts.name, opts.namespace)
