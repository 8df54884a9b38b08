"""The emulator itself behaves like an API server for the kubernetes client and for kubectl."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import urllib.error
import urllib.request

import pytest

from tests.conftest import ray_cluster
from tests.emulator import state


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


# --- the API server's semantics -----------------------------------------------------------------------


def _call(url: str, method: str, path: str, body: object = None, content_type: str = "application/json",
          accept: str = "application/json") -> tuple[int, dict, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method,
                                 headers={"Content-Type": content_type, "Accept": accept})
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


RAYCLUSTERS = "/apis/ray.io/v1/namespaces/default/rayclusters"


def test_ray_objects_are_pruned_defaulted_and_validated_like_the_api_server(emulator):
    cluster = ray_cluster("shaped")
    del cluster["spec"]["workerGroupSpecs"][0]["minReplicas"]
    cluster["spec"]["unknownField"] = 1
    code, body, _ = _call(emulator.url, "POST", RAYCLUSTERS + "?fieldValidation=Strict", cluster)
    assert (code, body["reason"]) == (400, "BadRequest")
    assert body["message"] == ('RayCluster in version "v1" cannot be handled as a RayCluster: strict decoding error: '
                               'unknown field "spec.unknownField"')
    code, stored, headers = _call(emulator.url, "POST", RAYCLUSTERS, cluster)  # fieldValidation defaults to Warn
    assert code == 201 and headers["Warning"] == '299 - "unknown field \\"spec.unknownField\\""'
    assert "unknownField" not in stored["spec"]
    group = stored["spec"]["workerGroupSpecs"][0]
    assert (group["minReplicas"], group["maxReplicas"], group["numOfHosts"], group["priority"]) == (0, 5, 1, 0)

    bad = ray_cluster("bad")
    bad["spec"]["workerGroupSpecs"][0]["replicas"] = "two"
    del bad["spec"]["workerGroupSpecs"][0]["groupName"]
    code, body, _ = _call(emulator.url, "POST", RAYCLUSTERS, bad)
    assert (code, body["reason"]) == (422, "Invalid")
    assert body["message"] == (
        'RayCluster.ray.io "bad" is invalid: [spec.workerGroupSpecs[0].replicas: Invalid value: "string": '
        'spec.workerGroupSpecs[0].replicas in body must be of type integer: "string", '
        "spec.workerGroupSpecs[0].groupName: Required value]")
    assert body["details"]["causes"] == [
        {"reason": "FieldValueTypeInvalid", "field": "spec.workerGroupSpecs[0].replicas",
         "message": 'Invalid value: "string": spec.workerGroupSpecs[0].replicas in body must be of type integer: "string"'},
        {"reason": "FieldValueRequired", "field": "spec.workerGroupSpecs[0].groupName", "message": "Required value"}]
    assert emulator.emu.get("rayclusters", "default", "bad") is None


def test_status_subresource_and_generation(emulator):
    cluster = ray_cluster("gen")
    cluster["status"] = {"state": "ready"}
    code, stored, _ = _call(emulator.url, "POST", RAYCLUSTERS, cluster)
    assert code == 201 and "status" not in stored and stored["metadata"]["generation"] == 1  # create ignores status
    stored["status"] = {"state": "ready"}
    stored["metadata"]["labels"] = {"team": "ml"}
    code, updated, _ = _call(emulator.url, "PUT", RAYCLUSTERS + "/gen", stored)
    assert code == 200 and "status" not in updated and updated["metadata"]["generation"] == 1  # metadata only
    updated["status"] = {"state": "ready"}
    updated["spec"]["workerGroupSpecs"][0]["replicas"] = 3
    code, status_put, _ = _call(emulator.url, "PUT", RAYCLUSTERS + "/gen/status", updated)
    assert status_put["status"] == {"state": "ready"} and status_put["spec"]["workerGroupSpecs"][0]["replicas"] == 1
    assert status_put["metadata"]["generation"] == 1  # /status changes nothing but status
    code, patched, _ = _call(emulator.url, "PATCH", RAYCLUSTERS + "/gen",
                             {"spec": {"suspend": True}, "status": {"state": "suspended"}},
                             content_type="application/merge-patch+json")
    assert patched["metadata"]["generation"] == 2 and patched["status"] == {"state": "ready"}


def _owned_pod(owner: dict, name: str, finalizers: list[str] | None = None) -> dict:
    meta = {"name": name, "namespace": "default",
            "ownerReferences": [{"apiVersion": "ray.io/v1", "kind": "RayCluster", "name": owner["metadata"]["name"],
                                 "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]}
    if finalizers:
        meta["finalizers"] = finalizers
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"containers": [{"name": "c", "image": "i"}]}}


def test_garbage_collection_background_foreground_and_orphan(emulator):
    emu = emulator.emu
    owner = emu.create("rayclusters", ray_cluster("bg"), "default")
    emu.create("pods", _owned_pod(owner, "bg-1"), "default")
    emu.delete("rayclusters", "default", "bg")  # background (the default): the dependents follow
    assert emu.get("rayclusters", "default", "bg") is None and emu.get("pods", "default", "bg-1") is None

    owner = emu.create("rayclusters", ray_cluster("fg"), "default")
    emu.create("pods", _owned_pod(owner, "fg-1", finalizers=["example.com/hold"]), "default")
    emu.delete("rayclusters", "default", "fg", propagation="Foreground")
    waiting = emu.get("rayclusters", "default", "fg")
    assert waiting["metadata"]["finalizers"] == ["foregroundDeletion"] and waiting["metadata"]["deletionTimestamp"]
    assert waiting["metadata"]["generation"] == 2  # setting deletionTimestamp bumps generation
    pod = emu.get("pods", "default", "fg-1")
    assert pod["metadata"]["deletionTimestamp"]  # deleted, held by its own finalizer
    pod["metadata"]["finalizers"] = []
    emu.replace("pods", "default", "fg-1", pod)  # the last finalizer goes: the pod, then its owner, go
    assert emu.get("pods", "default", "fg-1") is None and emu.get("rayclusters", "default", "fg") is None

    owner = emu.create("rayclusters", ray_cluster("or"), "default")
    emu.create("pods", _owned_pod(owner, "or-1"), "default")
    emu.delete("rayclusters", "default", "or", propagation="Orphan")
    assert "ownerReferences" not in emu.get("pods", "default", "or-1")["metadata"]


def test_endpoint_slices_follow_services_and_pods(emulator):
    emu = emulator.emu
    emu.create("services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "head"},
                            "spec": {"selector": {"app": "ray"}, "ports": [{"name": "dash", "port": 8265}],
                                     "clusterIP": "None", "publishNotReadyAddresses": True}}, "default")
    [empty] = emu.objects("endpointslices", "default")
    assert empty["metadata"]["labels"]["kubernetes.io/service-name"] == "head" and empty["endpoints"] == []
    assert empty["ports"] == [{"name": "dash", "port": 8265, "protocol": "TCP"}]
    pod = emu.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "ray"}},
                              "spec": {"containers": [{"name": "c", "image": "i"}]}}, "default")
    pod["status"] = {"phase": "Running", "podIP": "10.1.0.5", "conditions": [{"type": "Ready", "status": "False"}]}
    emu.replace("pods", "default", "p", pod, sub="status")
    [endpoint] = emu.objects("endpointslices", "default")[0]["endpoints"]
    assert endpoint["addresses"] == ["10.1.0.5"] and endpoint["targetRef"]["name"] == "p"
    assert endpoint["conditions"] == {"ready": True, "serving": False, "terminating": False}  # publishNotReadyAddresses
    emu.delete("services", "default", "head")
    assert emu.objects("endpointslices", "default") == []  # owned by the Service


def test_repeated_events_are_counted(emulator):
    emu = emulator.emu
    pod = emu.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                              "spec": {"containers": [{"name": "c", "image": "i"}]}}, "default")
    for _ in range(3):
        emu.record_event(pod, "Warning", "BackOff", "Back-off restarting failed container", component="kubelet")
    [event] = emu.objects("events", "default")
    assert event["count"] == 3 and event["source"] == {"component": "kubelet"}
    assert event["firstTimestamp"] <= event["lastTimestamp"] and event["involvedObject"]["uid"] == pod["metadata"]["uid"]
    for _ in range(2):
        emu.record_event(pod, "Normal", "CreatedHeadPod", "Created", component="raycluster-controller", style="events",
                         action="Create")
    created = next(e for e in emu.objects("events", "default") if e["reason"] == "CreatedHeadPod")
    assert created["series"]["count"] == 2 and created["reportingComponent"] == "raycluster-controller"
    assert "count" not in created and created["lastTimestamp"] is None


def test_table_responses_carry_the_crd_printer_columns(emulator):
    obj = ray_cluster("tbl")
    emulator.emu.add(obj)
    emulator.emu.update_status("rayclusters", "default", "tbl", {"state": "ready", "desiredWorkerReplicas": 1,
                                                                 "desiredCPU": "4", "desiredMemory": "8Gi"})
    code, table, _ = _call(emulator.url, "GET", RAYCLUSTERS, accept="application/json;as=Table;v=v1;g=meta.k8s.io")
    assert code == 200 and table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name", "desired workers", "available workers", "cpus", "memory", "gpus", "tpus", "status", "age",
        "head pod IP", "head service IP"]
    cells = table["rows"][0]["cells"]
    assert cells[:8] == ["tbl", 1, None, "4", "8Gi", None, None, "ready"]
    assert re.fullmatch(r"\d+(s|m|h|d)\w*", cells[8])  # a date column becomes an age, computed by the server
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_list_pages_neither_copy_nor_rescan_stored_objects(emulator, monkeypatch):
    emu = emulator.emu
    for i in range(300):
        emu.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i:03d}"}, "data": {"k": "v"}})
    copies = []
    real_copy, real_clone = copy.deepcopy, state.clone
    monkeypatch.setattr(copy, "deepcopy", lambda obj, *a: copies.append(1) or real_copy(obj, *a))
    monkeypatch.setattr(state, "clone", lambda obj: copies.append(1) or real_clone(obj))
    names, token = [], ""
    while True:
        code, page, _ = _call(emulator.url, "GET", "/api/v1/namespaces/default/configmaps?limit=50" +
                              (f"&continue={token}" if token else ""))
        names += [item["metadata"]["name"] for item in page["items"]]
        token = page["metadata"].get("continue", "")
        if not token:
            break
        assert page["metadata"]["remainingItemCount"] == 300 - len(names)
    assert names == [f"cm-{i:03d}" for i in range(300)]
    assert copies == []  # pages are served from the stored objects, which no caller can change:
    stored = emu.get("configmaps", "default", "cm-000")
    stored["data"]["k"] = "changed"
    assert emu.get("configmaps", "default", "cm-000")["data"] == {"k": "v"}


def test_an_older_crd_version_prunes_what_it_does_not_know():
    from tests.emulator import Emulator
    from tests.emulator.api import ApiError

    emu = Emulator(crd_version="v1.4.2")
    cluster = ray_cluster("old")
    cluster["spec"]["authOptions"] = {"mode": "token"}  # added to the CRD after v1.4.2
    with pytest.raises(ApiError) as exc:
        emu.create("rayclusters", cluster, "default", field_validation="Strict")
    assert exc.value.body["message"].endswith('strict decoding error: unknown field "spec.authOptions"')
    stored = emu.create("rayclusters", cluster, "default")  # without Strict: silently pruned (debug's OP-07)
    assert "authOptions" not in stored["spec"] and "priority" not in stored["spec"]["workerGroupSpecs"][0]
    assert Emulator().create("rayclusters", cluster, "default")["spec"]["authOptions"] == {"mode": "token"}
