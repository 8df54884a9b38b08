"""Streaming a Ray job's logs to stdout until it ends, and turning its final status into an exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kubectl_ray.errors import Interrupted, KubectlRayError
from kubectl_ray.printing import info
from kubectl_ray.stdio import write_stdout

if TYPE_CHECKING:
    from kubectl_ray.ray.dashboard import DashboardClient


def follow_to_end(client: "DashboardClient", submission_id: str, name: str, namespace: str) -> None:
    """Stream the logs to stdout until the job ends; exit status from the job's final status."""
    from kubectl_ray.ray.logtail import LogFollower

    follower = LogFollower(client, submission_id, write_stdout, note=info)
    try:
        final = follower.follow()
    except KeyboardInterrupt:
        newline_if_needed(follower)
        info(f"Stopped following the logs of Ray job {submission_id}; the job keeps running.")
        info(f"Follow it again: kubectl ray job logs {name} -f -n {namespace}")
        info(f"Stop it:         kubectl ray job stop {name} -n {namespace}")
        raise Interrupted("interrupted") from None
    newline_if_needed(follower)
    report_final_status(final)


def report_final_status(final: dict[str, Any]) -> None:
    from kubectl_ray.shapes import text

    job_id = text(final, "submission_id") or text(final, "job_id") or "?"
    status = text(final, "status") or "unknown"
    if status == "FAILED":
        error_type = text(final, "error_type")
        message = first_line_of_ray_message(text(final, "message"))
        raise KubectlRayError(f"job {job_id} failed: " + (f"{error_type}: " if error_type else "") + message)
    info(f"Job {job_id} finished with status {status}.")


def first_line_of_ray_message(message: str) -> str:
    """Ray appends the job's last logs to a failure message; those were just streamed, keep the reason."""
    head = message.strip().splitlines()[0] if message.strip() else "no message"
    marker = ", last available logs"
    return head.split(marker, 1)[0] if marker in head else head


def newline_if_needed(follower: Any) -> None:
    """Keep stderr lines off the end of a log line that had no newline."""
    if follower.printed and not getattr(follower, "_tail", "\n").endswith("\n"):
        write_stdout("\n")
