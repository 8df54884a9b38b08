"""A RayJob from a manifest, as a user runs one: `kubectl apply` a K8sJobMode RayJob, watch it with
`kubectl ray get job`, read the submitter's and the Ray job's logs, let shutdownAfterJobFinishes
remove the cluster after its TTL, delete it. The submitter Job's pod submits to the real Ray head."""

from __future__ import annotations

import pytest
import yaml

from tests.journeys.checks import assert_job_shown, pods_of, row_named, table
from tests.journeys.conftest import Shell

pytestmark = [pytest.mark.e2e, pytest.mark.kubectl]

TTL = 30


def rayjob_manifest(name: str) -> dict:
    container = {"name": "ray-head", "image": "rayproject/ray:2.52.0",
                 "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "2Gi"}}}
    return {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": name},
            "spec": {"entrypoint": "python -c \"import ray; ray.init(); print('the rayjob ran')\"",
                     "shutdownAfterJobFinishes": True, "ttlSecondsAfterFinished": TTL,
                     "rayClusterSpec": {"rayVersion": "2.52.0",
                                        "headGroupSpec": {"rayStartParams": {}, "template": {"spec": {
                                            "containers": [container]}}},
                                        "workerGroupSpecs": [{"groupName": "small", "replicas": 1, "minReplicas": 1,
                                                              "maxReplicas": 2, "rayStartParams": {},
                                                              "template": {"spec": {"containers": [
                                                                  dict(container, name="ray-worker")]}}}]}}}


def test_a_rayjob_from_a_manifest(ray_shell: Shell) -> None:
    sh = ray_shell
    (sh.cwd / "rayjob.yaml").write_text(yaml.safe_dump(rayjob_manifest("nightly")))
    applied = sh.run("kubectl", "apply", "-f", "rayjob.yaml")
    assert applied.code == 0 and "rayjob.ray.io/nightly created" in applied.out, applied

    done = sh.until(lambda: (o := sh.kubectl_json("get", "rayjob", "nightly"))["status"].get(
        "jobDeploymentStatus") == "Complete" and o, "the RayJob completes")
    status = done["status"]
    assert status["jobStatus"] == "SUCCEEDED" and status["jobId"].startswith("nightly-")
    assert status["dashboardURL"] == f"{status['rayClusterName']}-head-svc.default.svc.cluster.local:8265"
    assert done["metadata"]["finalizers"] == ["ray.io/rayjob-finalizer"]
    assert_job_shown(sh, "nightly")
    printed = row_named(table(sh.run("kubectl", "get", "rayjobs").out), "nightly")
    assert (printed["JOB STATUS"], printed["DEPLOYMENT STATUS"], printed["RAY CLUSTER NAME"]) == \
        ("SUCCEEDED", "Complete", status["rayClusterName"])

    submitter = sh.kubectl_json("get", "job", "nightly")
    assert [c["type"] for c in submitter["status"]["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert submitter["metadata"]["ownerReferences"][0]["kind"] == "RayJob"
    submitter_logs = sh.run("kubectl", "logs", "job/nightly")
    assert submitter_logs.code == 0 and "the rayjob ran" in submitter_logs.out, submitter_logs
    ray_logs = sh.ok("job", "logs", "nightly")
    assert "the rayjob ran" in ray_logs.out

    # shutdownAfterJobFinishes: the cluster goes once the TTL has passed; the RayJob stays
    cluster = status["rayClusterName"]
    assert sh.kubectl_json("get", "raycluster", cluster)["metadata"]["ownerReferences"][0]["name"] == "nightly"
    sh.player.advance(TTL + 5)
    sh.until(lambda: sh.run("kubectl", "get", "raycluster", cluster).code == 1, "the TTL removes the cluster")
    sh.until(lambda: not pods_of(sh, cluster), "its pods are collected")
    assert_job_shown(sh, "nightly")

    deleted = sh.ok("delete", "rayjob/nightly", "-y", "--wait")
    assert 'rayjob.ray.io "nightly" deleted' in deleted.out, deleted
    assert sh.run("kubectl", "get", "rayjob", "nightly").code == 1
    sh.until(lambda: sh.run("kubectl", "get", "job", "nightly").code == 1, "the submitter Job is collected")
