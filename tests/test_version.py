"""`kubectl ray version`: operator lookup by Deployment, RBAC fallback to head pods, verdicts."""

from __future__ import annotations

import json

import pytest

from kubectl_ray import __version__
from kubectl_ray.versions import image_tag, parse_version, plugin_compatibility


def operator_deployment(image="quay.io/kuberay/operator:v1.7.0", namespace="kuberay-system", name="kuberay-operator",
                        label="kuberay-operator"):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/name": label}},
            "spec": {"template": {"spec": {"containers": [{"name": "kuberay-operator", "image": image,
                                                            "args": ["--feature-gates=RayJobDeletionPolicy=true"]}]}}},
            "status": {"availableReplicas": 1}}


def head_pod(tags="kuberay_version=v1.6.0;kuberay_crd=RayCluster"):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "demo-head-x", "namespace": "default", "labels": {"ray.io/node-type": "head"}},
            "spec": {"containers": [{"name": "ray-head", "env": [{"name": "RAY_USAGE_STATS_EXTRA_TAGS", "value": tags}]}]}}


def test_version_with_operator_deployment(emulator):
    emulator.emu.add(operator_deployment())
    emulator.emu.add(operator_deployment(name="unrelated", label="something-else"))
    result = emulator.run("version")
    assert result.exit_code == 0
    assert result.stdout == (f"kubectl ray plugin version: {__version__}\n"
                             "KubeRay operator version: v1.7.0 (kuberay-system/kuberay-operator)\n"
                             "Compatibility: KubeRay v1.7.0 is supported\n")
    listed = emulator.emu.requests_where(verb="list", resource="deployments")[0]
    assert listed.namespace is None and listed.q("labelSelector") == "app.kubernetes.io/name in (kuberay-operator,kuberay)"


def test_version_without_operator_warns_and_exits_zero(emulator):
    result = emulator.run("version")
    assert result.exit_code == 0
    assert result.stdout == f"kubectl ray plugin version: {__version__}\n"
    assert result.stderr.startswith("Warning: KubeRay operator installation cannot be found:")
    assert 'Did you install it with the name "kuberay-operator"?' in result.stderr


def test_version_falls_back_to_head_pod_env_when_deployments_are_forbidden(emulator):
    emu = emulator.emu
    emu.add(operator_deployment())
    emu.add(head_pod())
    emu.forbid("list", "deployments")
    result = emulator.run("version")
    assert result.exit_code == 0
    assert "KubeRay operator version: v1.6.0 (default/demo-head-x) (from a head pod's environment)" in result.stdout


def test_version_forbidden_everywhere_is_a_warning_naming_what_was_denied(emulator):
    emulator.emu.forbid("list", "deployments")
    emulator.emu.forbid("list", "pods")
    result = emulator.run("version")
    assert result.exit_code == 0
    assert "cannot list deployments in all namespaces (forbidden)" in result.stderr
    assert 'cannot list pods in namespace "default" (forbidden)' in result.stderr


def test_old_operator_gets_a_warning_and_json_has_the_verdict(emulator):
    emulator.emu.add(operator_deployment("kuberay/operator:v1.3.2"))
    result = emulator.run("version")
    assert "Warning: KubeRay v1.3.2 is older than v1.4.0" in result.stderr
    doc = json.loads(emulator.run("version", "-o", "json").stdout)
    assert doc["kuberayOperator"]["version"] == "v1.3.2"
    assert doc["compatibility"]["level"] == "limited"


def test_two_operators_are_both_reported(emulator):
    emulator.emu.add(operator_deployment())
    emulator.emu.add(operator_deployment("kuberay/operator:v1.5.0", namespace="team-b", label="kuberay"))
    result = emulator.run("version")
    assert "Warning: another KubeRay operator runs in team-b/kuberay-operator with version v1.5.0" in result.stderr


def test_client_only_makes_no_request(emulator):
    assert emulator.run("version", "--client").stdout == f"kubectl ray plugin version: {__version__}\n"
    assert emulator.emu.request_count == 0


@pytest.mark.parametrize("image, tag", [
    ("quay.io/kuberay/operator:v1.7.0", "v1.7.0"),
    ("kuberay/operator:v1.2.2@sha256:abc", "v1.2.2@sha256:abc"),
    ("registry:5000/kuberay/operator@sha256:abc", "sha256:abc"),
    ("registry:5000/kuberay/operator", "latest"),
])
def test_image_tag(image, tag):
    assert image_tag(image) == tag


@pytest.mark.parametrize("version, level", [
    ("v1.7.0", "ok"), ("v1.4.0", "ok"), ("v1.9.1", "ok"), ("v1.3.2", "limited"), ("v1.2.2", "unsupported"),
    ("nightly", "unknown"), ("sha256:abc", "unknown"), ("v1.6.0@sha256:abc", "ok"),
])
def test_compatibility_levels(version, level):
    assert plugin_compatibility(version).level == level


def test_parse_version():
    assert parse_version("v1.6.0-rc.1") == (1, 6, 0)
    assert parse_version("1.4") == (1, 4, 0)
    assert parse_version("latest") is None
