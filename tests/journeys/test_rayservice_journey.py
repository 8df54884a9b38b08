"""A RayService from KubeRay's sample: apply it, wait for it to serve, look at it with kubectl-ray and
kubectl, diagnose it, roll out a new cluster spec (zero-downtime upgrade: a pending cluster is built,
traffic moves, the old one goes after the deletion delay), delete it. Serve is simulated."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import shared_path
from tests.journeys.checks import assert_service_shown, debug_findings, row_named, table
from tests.journeys.conftest import Shell

pytestmark = pytest.mark.kubectl


def serving(sh: Shell, name: str) -> dict | None:
    obj = sh.kubectl_json("get", "rayservice", name)
    return obj if (obj.get("status") or {}).get("serviceStatus") == "Running" else None


def test_a_rayservice_from_the_sample(shell: Shell) -> None:
    sh = shell
    sample = yaml.safe_load(shared_path("samples", "ray-service.sample.yaml").read_text())
    name = sample["metadata"]["name"]
    (sh.cwd / "service.yaml").write_text(yaml.safe_dump(sample))
    assert sh.run("kubectl", "apply", "-f", "service.yaml").code == 0

    obj = sh.until(lambda: serving(sh, name), "the RayService serves")
    active = obj["status"]["activeServiceStatus"]["rayClusterName"]
    assert active.startswith(f"{name}-") and obj["status"]["numServeEndpoints"] >= 1
    assert set(obj["status"]["activeServiceStatus"]["applicationStatuses"]) == {"fruit_app", "math_app"}
    assert_service_shown(sh, name)
    printed = row_named(table(sh.run("kubectl", "get", "rayservices").out), name)
    assert printed["SERVICE STATUS"] == "Running" and printed["NUM SERVE ENDPOINTS"] == str(obj["status"]["numServeEndpoints"])
    serve_svc = sh.kubectl_json("get", "service", f"{name}-serve-svc")
    assert serve_svc["spec"]["selector"] == {"ray.io/cluster": active, "ray.io/serve": "true"}
    code, findings = debug_findings(sh, f"rayservice/{name}")
    assert code == 0 and not [f for f in findings if f[1] == "error"], findings

    # a new head image: KubeRay prepares a pending cluster, switches the Services, then drops the old one
    sample["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["containers"][0]["image"] = \
        "rayproject/ray:2.52.0-py311"
    (sh.cwd / "service.yaml").write_text(yaml.safe_dump(sample))
    assert sh.run("kubectl", "apply", "-f", "service.yaml").code == 0
    upgraded = sh.until(lambda: (o := serving(sh, name)) and
                        o["status"]["activeServiceStatus"]["rayClusterName"] != active and o, "the new cluster serves")
    new = upgraded["status"]["activeServiceStatus"]["rayClusterName"]
    assert sh.kubectl_json("get", "service", f"{name}-serve-svc")["spec"]["selector"]["ray.io/cluster"] == new
    assert_service_shown(sh, name)
    assert sh.run("kubectl", "get", "raycluster", active).code == 0  # kept for rayClusterDeletionDelaySeconds
    sh.player.advance(65)
    sh.until(lambda: sh.run("kubectl", "get", "raycluster", active).code == 1, "the old cluster is deleted")

    deleted = sh.ok("delete", f"rayservice/{name}", "-y", "--wait")
    assert f'rayservice.ray.io "{name}" deleted' in deleted.out, deleted
    sh.until(lambda: not sh.kubectl_json("get", "rayclusters")["items"], "its clusters are gone")
