"""What a journey checks after each write: `kubectl ray get ...` shows what the real `kubectl get -o json`
of the same objects holds (computed here from the JSON, independently of kubectl_ray's code)."""

from __future__ import annotations

from typing import Any

from tests.journeys.conftest import Shell

CONDITION_ORDER = ("RayClusterProvisioned", "HeadPodReady", "ReplicaFailure", "RayClusterSuspended",
                   "RayClusterSuspending")


def table(text: str) -> list[dict[str, str]]:
    """Rows of a kubectl-style table, split at the header's column starts."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = lines[0]
    starts = [i for i, ch in enumerate(header) if ch != " " and (i == 0 or header[i - 1] == " " and header[i - 2:i] == "  ")]
    names = [header[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]
    rows = []
    for line in lines[1:]:
        cells = [line[a:b].strip() if b is not None else line[a:].strip() for a, b in zip(starts, starts[1:] + [None])]
        rows.append(dict(zip(names, cells)))
    return rows


def row_named(rows: list[dict[str, str]], name: str) -> dict[str, str]:
    found = [r for r in rows if r.get("NAME") == name]
    assert len(found) == 1, (name, rows)
    return found[0]


def _status(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("status") or {}


def cluster_condition(obj: dict[str, Any]) -> str:
    conditions = {c["type"]: c.get("status") for c in _status(obj).get("conditions") or []}
    return next((t for t in CONDITION_ORDER if conditions.get(t) == "True"), "")


def assert_cluster_shown(sh: Shell, name: str) -> dict[str, Any]:
    """`kubectl ray get cluster NAME -o wide` against `kubectl get raycluster NAME -o json`."""
    obj = sh.kubectl_json("get", "raycluster", name)
    row = row_named(table(sh.ok("get", "cluster", name, "-o", "wide").out), name)
    status = _status(obj)
    head = status.get("head") or {}
    expected = {"DESIRED WORKERS": str(status.get("desiredWorkerReplicas", 0)),
                "AVAILABLE WORKERS": str(status.get("availableWorkerReplicas", 0)),
                "CPUS": status.get("desiredCPU", "0"), "GPUS": status.get("desiredGPU", "0"),
                "TPUS": status.get("desiredTPU", "0"), "MEMORY": status.get("desiredMemory", "0"),
                "CONDITION": cluster_condition(obj), "STATUS": status.get("state", ""),
                "HEAD POD IP": head.get("podIP", ""), "HEAD SERVICE IP": head.get("serviceIP", "")}
    assert {k: row[k] for k in expected} == expected, (row, status)
    return obj


def pods_of(sh: Shell, cluster: str) -> list[dict[str, Any]]:
    return sh.kubectl_json("get", "pods", "-l", f"ray.io/cluster={cluster}")["items"]


def ready(pod: dict[str, Any]) -> bool:
    return _status(pod).get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in _status(pod).get("conditions") or [])


def assert_groups_shown(sh: Shell, cluster: str) -> None:
    """`kubectl ray get workergroup -c CLUSTER` against the RayCluster's spec and its pods."""
    obj = sh.kubectl_json("get", "raycluster", cluster)
    pods = pods_of(sh, cluster)
    rows = table(sh.ok("get", "workergroup", "-c", cluster).out)
    groups = obj["spec"].get("workerGroupSpecs") or []
    assert sorted(r["NAME"] for r in rows) == sorted(g["groupName"] for g in groups), rows
    for group in groups:
        row = row_named(rows, group["groupName"])
        members = [p for p in pods if p["metadata"]["labels"].get("ray.io/group") == group["groupName"]]
        assert row["MIN"] == str(group["minReplicas"]) and row["MAX"] == str(group["maxReplicas"]), (row, group)
        assert row["REPLICAS"] == f"{sum(1 for p in members if ready(p))}/{group['replicas']}", (row, group)
        assert row["CLUSTER"] == cluster


def assert_nodes_shown(sh: Shell, cluster: str) -> None:
    """`kubectl ray get node -c CLUSTER` lists exactly the cluster's pods, with their type and group."""
    pods = pods_of(sh, cluster)
    rows = table(sh.ok("get", "node", "-c", cluster).out)
    assert {r["NAME"]: (r["TYPE"], r["WORKER GROUP"]) for r in rows} == {
        p["metadata"]["name"]: (p["metadata"]["labels"]["ray.io/node-type"], p["metadata"]["labels"]["ray.io/group"])
        for p in pods}


def assert_job_shown(sh: Shell, name: str) -> dict[str, Any]:
    obj = sh.kubectl_json("get", "rayjob", name)
    row = row_named(table(sh.ok("get", "job", name, "-o", "wide").out), name)
    status = _status(obj)
    expected = {"JOB ID": status.get("jobId", ""), "JOB STATUS": status.get("jobStatus", ""),
                "DEPLOYMENT STATUS": status.get("jobDeploymentStatus", ""), "CLUSTER": status.get("rayClusterName", ""),
                "START": status.get("startTime", ""), "SUBMISSION MODE": obj["spec"].get("submissionMode", "")}
    assert {k: row[k] for k in expected} == expected, (row, status)
    return obj


def assert_service_shown(sh: Shell, name: str) -> dict[str, Any]:
    obj = sh.kubectl_json("get", "rayservice", name)
    row = row_named(table(sh.ok("get", "service", name, "-o", "wide").out), name)
    status = _status(obj)
    ready_cond = next((c for c in status.get("conditions") or [] if c["type"] == "Ready"), {})
    expected = {"ACTIVE CLUSTER": (status.get("activeServiceStatus") or {}).get("rayClusterName", ""),
                "PENDING CLUSTER": (status.get("pendingServiceStatus") or {}).get("rayClusterName", ""),
                "SERVE ENDPOINTS": str(status.get("numServeEndpoints", 0)), "REASON": ready_cond.get("reason", "")}
    assert {k: row[k] for k in expected} == expected, (row, status)
    return obj


def debug_findings(sh: Shell, target: str) -> tuple[int, list[tuple[str, str]]]:
    """Exit code and (id, severity) of the findings of `kubectl ray debug TARGET -o json`, most important first."""
    import json

    result = sh.ray("debug", target, "-o", "json")
    assert "Traceback" not in result.err, result
    doc = json.loads(result.out)
    return result.code, [(f["id"], f["severity"]) for f in doc["targets"][0]["findings"]]
