"""`--deep` against a real Ray 2.60 head on loopback (via --address, and via the shared port-forward)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.debug.world import World, load
from tests.fake_kubectl import FakeKubectl
from tests.ray_head import ray_head  # noqa: F401 - the session fixture


def _findings(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for f in items:
            out[f["id"]] = f
            walk(f["consequences"])
    walk(doc["targets"][0]["findings"])
    return out


@pytest.mark.e2e
def test_deep_compares_the_running_version_with_the_spec(emulator, frozen_now, ray_head) -> None:  # noqa: F811
    load(emulator, World().objs)  # spec.rayVersion 2.52.0; the head runs Ray 2.60.0
    result = emulator.run("debug", "raycluster-complete", "--address", ray_head.dashboard_url, "-o", "json")
    assert result.exit_code == 0, result  # a version mismatch is a warning
    findings = _findings(json.loads(result.stdout))
    version = findings["DEEP-02"]
    assert version["severity"] == "warning"
    assert version["title"] == f"the cluster runs Ray {ray_head.ray_version}, the spec says 2.52.0"
    assert version["evidence"][0] == {"kind": "dashboard", "where": "/api/version ray_version", "value": ray_head.ray_version}
    assert not {"DEEP-01", "DEEP-03", "DEEP-04", "DEEP-05", "AS-16"} & set(findings)  # GCS healthy, no dead nodes
    human = emulator.run("debug", "raycluster-complete", "--address", ray_head.dashboard_url)
    assert f"[DEEP-02] the cluster runs Ray {ray_head.ray_version}, the spec says 2.52.0" in human.stdout
    assert f"dashboard /api/version ray_version: {ray_head.ray_version}" in human.stdout


@pytest.mark.e2e
def test_deep_is_quiet_when_spec_and_cluster_agree(emulator, frozen_now, ray_head) -> None:  # noqa: F811
    w = World()
    w.set_images(f"rayproject/ray:{ray_head.ray_version}", ray_version=ray_head.ray_version)
    load(emulator, w.objs)
    result = emulator.run("debug", "raycluster-complete", "--deep", "--address", ray_head.dashboard_url, "-o", "json")
    assert result.exit_code == 0, result
    assert not [i for i in _findings(json.loads(result.stdout)) if i.startswith("DEEP")]


@pytest.mark.e2e
def test_deep_through_the_shared_port_forward(emulator, frozen_now, ray_head, tmp_path: Path) -> None:  # noqa: F811
    load(emulator, World().objs)
    port = int(ray_head.dashboard_url.rsplit(":", 1)[1])
    fake = FakeKubectl(tmp_path, backend_port=port)
    result = emulator.run("debug", "raycluster-complete", "--deep", "-o", "json", env=fake.env({}))
    assert result.exit_code == 0, result
    assert "DEEP-02" in _findings(json.loads(result.stdout))
    argv = fake.runs()[0]["argv"]
    assert "port-forward" in argv and "service/raycluster-complete-head-svc" in argv and ":8265" in argv


def test_unreachable_dashboard_is_a_finding_not_a_crash(emulator, frozen_now) -> None:
    load(emulator, World().objs)
    result = emulator.run("debug", "raycluster-complete", "--address", "http://127.0.0.1:9")
    assert result.exit_code == 1, result
    assert "[DEEP-05] the Ray dashboard cannot be reached" in result.stdout
    assert "dashboard http://127.0.0.1:9: cannot reach the Ray dashboard at http://127.0.0.1:9: connection refused" in result.stdout


@pytest.mark.e2e
def test_deep_answers_travel_in_the_bundle(emulator, frozen_now, ray_head, tmp_path: Path) -> None:  # noqa: F811
    load(emulator, World().objs)
    out = tmp_path / "deep.tar.gz"
    live = emulator.run("debug", "raycluster-complete", "--address", ray_head.dashboard_url, "--bundle", str(out), "-o", "json")
    offline = run_cli("debug", "--from-bundle", str(out), "-o", "json")
    assert json.loads(offline.stdout)["targets"] == json.loads(live.stdout)["targets"]
    assert "DEEP-02" in _findings(json.loads(offline.stdout))
