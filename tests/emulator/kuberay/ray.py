"""The Ray side the operator player talks to: a real Ray head's dashboard, or a simulated one.

KubeRay's controllers ask the Ray dashboard of each cluster for job status (RayJob) and Serve
application status (RayService), and the submitter (a K8s Job, or the sidecar) submits the job.
* RealRay(url): jobs go to a real local Ray head (tests/ray_head.py, the demo), so `kubectl ray
  job ...`, the submitter and the operator all see the same jobs. Serve is simulated (ray[default]
  has no Serve).
* SimulatedRay: an in-memory job table; a job runs for `job_steps` player steps and succeeds
  unless told otherwise (`fail_jobs`, or an entrypoint that calls `exit` with a code).
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import yaml

TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")


class SimulatedServe:
    """Serve applications per cluster: DEPLOYING on the first look after a config is put, then RUNNING."""

    def __init__(self) -> None:
        self.apps: dict[str, dict[str, dict[str, Any]]] = {}
        self.lock = threading.Lock()

    def put_config(self, cluster: str, serve_config_v2: str) -> None:
        config = yaml.safe_load(serve_config_v2 or "") or {}
        apps = {}
        for app in config.get("applications") or []:
            deployments = {d["name"]: {"status": "UPDATING", "message": ""} for d in app.get("deployments") or []
                           if isinstance(d, dict) and d.get("name")}
            apps[app.get("name") or "default"] = {"status": "DEPLOYING", "message": "", "deployments": deployments}
        with self.lock:
            self.apps[cluster] = apps

    def statuses(self, cluster: str) -> dict[str, dict[str, Any]]:
        with self.lock:
            apps = self.apps.get(cluster, {})
            snapshot = json.loads(json.dumps(apps))
            for app in apps.values():  # the next look finds them running
                app["status"] = "RUNNING"
                for deployment in app["deployments"].values():
                    deployment["status"] = "HEALTHY"
            return snapshot


class SimulatedRay:
    def __init__(self, job_steps: int = 2) -> None:
        self.job_steps = job_steps
        self.jobs: dict[str, dict[str, Any]] = {}
        self.fail_jobs: set[str] = set()  # submission ids that end FAILED
        self.serve = SimulatedServe()
        self.lock = threading.Lock()

    def submit(self, cluster: str, job_id: str, entrypoint: str, runtime_env: Any = None, metadata: Any = None) -> None:
        with self.lock:
            if job_id in self.jobs:
                return
            self.jobs[job_id] = {"submission_id": job_id, "job_id": None, "status": "PENDING", "entrypoint": entrypoint,
                                 "message": "Job has not started yet. It may be waiting for the runtime environment "
                                            "to be set up.", "start_time": 0, "end_time": 0, "metadata": metadata or {},
                                 "runtime_env": runtime_env, "steps": 0, "cluster": cluster, "error_type": None}

    def step(self) -> bool:
        """Advance every running job one step; True when something changed."""
        changed = False
        now = int(time.time() * 1000)
        with self.lock:
            for job_id, job in self.jobs.items():
                if job["status"] in TERMINAL:
                    continue
                job["steps"] += 1
                changed = True
                if job["status"] == "PENDING":
                    job.update(status="RUNNING", start_time=now, message="Job is currently running.")
                elif job["steps"] > self.job_steps:
                    code = _exit_code(job["entrypoint"])
                    if job_id in self.fail_jobs or code:
                        job.update(status="FAILED", end_time=now, error_type="JOB_ENTRYPOINT_COMMAND_ERROR",
                                   message=f"Job entrypoint command failed with exit code {code or 1}")
                    else:
                        job.update(status="SUCCEEDED", end_time=now, message="Job finished successfully.")
        return changed

    def job_info(self, cluster: str, job_id: str) -> dict[str, Any] | None:
        with self.lock:
            job = self.jobs.get(job_id)
            return {k: v for k, v in job.items() if k not in ("steps", "cluster")} if job else None

    def stop(self, cluster: str, job_id: str) -> None:
        with self.lock:
            job = self.jobs.get(job_id)
            if job and job["status"] not in TERMINAL:
                job.update(status="STOPPED", end_time=int(time.time() * 1000), message="Job was intentionally stopped.")

    def logs(self, cluster: str, job_id: str) -> str:
        info = self.job_info(cluster, job_id)
        if info is None:
            return ""
        return f"Running entrypoint for job {job_id}: {info['entrypoint']}\n"


def _exit_code(entrypoint: str) -> int:
    match = re.search(r"(?:sys\.)?exit\((\d+)\)|\bexit (\d+)\b", entrypoint or "")
    return int(match.group(1) or match.group(2)) if match else 0


class RealRay:
    """A real Ray head's Jobs REST API (every emulated cluster is backed by this one head)."""

    def __init__(self, dashboard_url: str, timeout: float = 10.0) -> None:
        self.url = dashboard_url.rstrip("/")
        self.timeout = timeout
        self.serve = SimulatedServe()

    def _call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")
        except (OSError, ValueError) as exc:
            return 0, str(exc)

    def submit(self, cluster: str, job_id: str, entrypoint: str, runtime_env: Any = None, metadata: Any = None) -> None:
        body: dict[str, Any] = {"entrypoint": entrypoint, "submission_id": job_id}
        if runtime_env:
            body["runtime_env"] = runtime_env
        if metadata:
            body["metadata"] = metadata
        self._call("POST", "/api/jobs/", body)

    def step(self) -> bool:
        return False  # the real head runs jobs by itself

    def job_info(self, cluster: str, job_id: str) -> dict[str, Any] | None:
        code, body = self._call("GET", f"/api/jobs/{job_id}")
        return body if code == 200 and isinstance(body, dict) else None

    def stop(self, cluster: str, job_id: str) -> None:
        self._call("POST", f"/api/jobs/{job_id}/stop")

    def logs(self, cluster: str, job_id: str) -> str:
        code, body = self._call("GET", f"/api/jobs/{job_id}/logs")
        return body.get("logs", "") if code == 200 and isinstance(body, dict) else ""
