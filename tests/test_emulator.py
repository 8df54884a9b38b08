"""The emulator itself behaves like an API server for the kubernetes client and for kubectl."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request

import pytest

from tests.conftest import ray_cluster


def _get(url: str, path: str, **headers: str) -> tuple[int, dict]:
    req = urllib.request.Request(url + path, headers={"Authorization": "Bearer test-token", **headers})
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _client(handle):
    from kubernetes import client, config

    return client.CustomObjectsApi(config.new_client_from_config(handle.kubeconfig)), \
        client.CoreV1Api(config.new_client_from_config(handle.kubeconfig))


def test_kubernetes_client_crud_with_real_semantics(emulator):
    custom, core = _client(emulator)
    created = custom.create_namespaced_custom_object("ray.io", "v1", "default", "rayclusters", ray_cluster("a"))
    assert created["metadata"]["uid"] and created["metadata"]["generation"] == 1  # 201 with the stored object
    listed = custom.list_namespaced_custom_object("ray.io", "v1", "default", "rayclusters")
    assert listed["kind"] == "RayClusterList" and listed["apiVersion"] == "ray.io/v1"
    stale = dict(created)
    created["spec"]["workerGroupSpecs"][0]["replicas"] = 3
    replaced = custom.replace_namespaced_custom_object("ray.io", "v1", "default", "rayclusters", "a", created)
    assert replaced["metadata"]["generation"] == 2
    from kubernetes.client.rest import ApiException

    with pytest.raises(ApiException) as exc:  # the old resourceVersion is now stale
        custom.replace_namespaced_custom_object("ray.io", "v1", "default", "rayclusters", "a", stale)
    assert exc.value.status == 409
    with pytest.raises(ApiException) as exc:
        custom.create_namespaced_custom_object("ray.io", "v1", "default", "rayclusters", ray_cluster("a"))
    assert exc.value.status == 409
    assert core.read_namespace("default").metadata.name == "default"


def test_selectors_pagination_and_logs(emulator):
    emu = emulator.emu
    for i in range(5):
        emu.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "labels": {"ray.io/node-type": "head" if i == 0 else "worker", "i": str(i)}},
                 "spec": {"containers": [{"name": "ray-head"}]}, "status": {"phase": "Running"}})
    emu.pod_logs[("default", "p0", "ray-head")] = "line1\nline2\n"
    _, core = _client(emulator)
    assert [p.metadata.name for p in core.list_namespaced_pod("default", label_selector="ray.io/node-type=head").items] == ["p0"]
    assert len(core.list_namespaced_pod("default", label_selector="i in (1,2),ray.io/node-type!=head").items) == 2
    assert [p.metadata.name for p in core.list_namespaced_pod("default", field_selector="metadata.name=p3").items] == ["p3"]
    page = core.list_namespaced_pod("default", limit=2)
    assert len(page.items) == 2 and page.metadata._continue
    rest = core.list_namespaced_pod("default", limit=10, _continue=page.metadata._continue)
    assert [p.metadata.name for p in rest.items] == ["p2", "p3", "p4"]
    log = core.read_namespaced_pod_log("p0", "default", _preload_content=False)
    assert log.headers["Content-Type"].startswith("text/plain") and log.data == b"line1\nline2\n"
    assert core.read_namespaced_pod_log("p0", "default", tail_lines=1, _preload_content=False).data == b"line2\n"


def test_watch_ends_at_timeout_and_sees_changes(emulator):
    from kubernetes import watch

    custom, _ = _client(emulator)
    emulator.emu.add(ray_cluster("w"))
    events = []
    for event in watch.Watch().stream(custom.list_namespaced_custom_object, "ray.io", "v1", "default", "rayclusters",
                                      timeout_seconds=1, _request_timeout=5):
        events.append((event["type"], event["object"]["metadata"]["name"]))
        if len(events) == 1:
            emulator.emu.update_status("rayclusters", "default", "w", {"state": "ready"})
    assert events == [("ADDED", "w"), ("MODIFIED", "w")]


def test_auth_forbidden_and_faults(emulator):
    emu = emulator.emu
    emu.tokens = {"good": "alice"}
    assert _get(emulator.url, "/api/v1/namespaces/default/pods", Authorization="Bearer bad")[0] == 401
    emu.forbid("list", "deployments")
    status, body = _get(emulator.url, "/apis/apps/v1/deployments", Authorization="Bearer good")
    assert status == 403
    assert body["message"] == 'deployments.apps is forbidden: User "alice" cannot list resource "deployments" in API group "apps" at the cluster scope'
    emu.fault(verb="list", resource="pods", status=503, headers={"Retry-After": "1"})
    assert _get(emulator.url, "/api/v1/namespaces/default/pods", Authorization="Bearer good")[0] == 503
    assert _get(emulator.url, "/api/v1/namespaces/default/pods", Authorization="Bearer good")[0] == 200
    assert [r.verb for r in emu.requests][-2:] == ["list", "list"]


@pytest.mark.kubectl
def test_real_kubectl_lists_and_applies(emulator, tmp_path):
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl is not on PATH")
    emulator.emu.add(ray_cluster("demo"))
    base = [kubectl, "--kubeconfig", emulator.kubeconfig]
    out = subprocess.run(base + ["get", "rayclusters", "-o", "name"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "raycluster.ray.io/demo"
    manifest = tmp_path / "c.yaml"
    manifest.write_text(json.dumps(ray_cluster("applied")))
    out = subprocess.run(base + ["apply", "-f", str(manifest)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "raycluster.ray.io/applied created" in out.stdout
    assert emulator.emu.get("rayclusters", "default", "applied") is not None
