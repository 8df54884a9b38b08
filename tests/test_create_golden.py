"""Golden tests of the RayCluster builders, driven through `create cluster --dry-run -o yaml`.

Compared as parsed YAML (meaning, not text), except one byte-exact test of the default output.
Regenerate with `UPDATE_GOLDEN=1 python -m pytest tests/test_create_golden.py`, then review the diff.
Every generated object must also validate against KubeRay v1.7.0's CRD schema.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from kubectl_ray.printing import to_yaml
from kubectl_ray.resources.cluster import (
    ClusterOptions, GcsFuseOptions, WorkerGroupOptions, build_cluster_spec, build_raycluster, build_worker_group,
    ray_resources_param,
)
from tests.conftest import REPO, run_cli
from tests.crd_schema import assert_valid_cr

GOLDEN = Path(__file__).parent / "golden" / "create"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

GOLDEN_CASES: dict[str, list[str]] = {
    "defaults": ["sample-cluster"],
    "every-flag": [
        "everything", "-n", "ml",
        "--ray-version", "2.50.1", "--image", "registry.example.com/ray:2.50.1-py311",
        "--labels", "team=ml,env=dev", "--annotations", "owner=alice@example.com",
        "--service-account", "ray-runner", "--env", "RAY_DEDUP_LOGS=0", "--env", "HF_HOME=/data/hf,cache",
        "--head-cpu", "1500m", "--head-memory", "8192Mi", "--head-gpu", "1", "--head-ephemeral-storage", "20Gi",
        "--head-ray-start-params", "num-cpus=0,dashboard-host=0.0.0.0",
        "--head-node-selectors", "pool=head", "--head-runtime-class-name", "nvidia",
        "--head-tolerations", "dedicated=ray:NoSchedule", "--head-resources", "amd.com/gpu=1",
        "--head-ray-resources", '{"head_slot": 1}', "--head-service-type", "LoadBalancer",
        "--worker-replicas", "3", "--worker-min-replicas", "1", "--worker-max-replicas", "6", "--num-of-hosts", "1",
        "--worker-cpu", "4", "--worker-memory", "16Gi", "--worker-gpu", "2", "--worker-ephemeral-storage", "50Gi",
        "--worker-ray-start-params", "object-store-memory=1000000000",
        "--worker-node-selectors", "pool=workers", "--worker-runtime-class-name", "nvidia",
        "--worker-tolerations", "nvidia.com/gpu:NoSchedule,spot=true:PreferNoSchedule",
        "--worker-resources", "example.com/fpga=2", "--worker-ray-resources", '{"fpga": 2, "accelerator_type:X": 0.5}',
        "--autoscaler", "v2", "--autoscaler-idle-timeout", "90s", "--autoscaler-upscaling-mode", "Conservative",
        "--gcs-ft-redis-address", "redis.redis.svc:6379", "--gcs-ft-redis-password-secret", "redis-auth:password",
        "--gcs-ft-external-storage-namespace", "everything-gcs",
    ],
    "gpu": [
        "gpu-demo", "--worker-gpu", "1", "--worker-replicas", "2", "--worker-runtime-class-name", "nvidia",
        "--worker-tolerations", "nvidia.com/gpu:NoSchedule", "--worker-node-selectors",
        "cloud.google.com/gke-accelerator=nvidia-l4",
    ],
    "ascend-npu": [
        "npu-demo", "--worker-resources", "huawei.com/Ascend910B=1,huawei.com/Ascend910B-memory=16384",
        "--worker-ray-resources", '{"NPU": 1}', "--worker-tolerations", "huawei.com/Ascend910B:NoSchedule",
    ],
    "tpu-multihost": [
        "tpu-demo", "--worker-tpu", "4", "--num-of-hosts", "2", "--worker-cpu", "8", "--worker-memory", "32Gi",
        "--worker-node-selectors",
        "cloud.google.com/gke-tpu-accelerator=tpu-v4-podslice,cloud.google.com/gke-tpu-topology=2x2x2",
    ],
    "autoscaler-v2": [
        "auto", "--autoscaler", "v2", "--autoscaler-idle-timeout", "120", "--worker-replicas", "0",
        "--worker-min-replicas", "0", "--worker-max-replicas", "5",
    ],
    "gcs-ft": [
        "ft-demo", "--gcs-ft-redis-address", "redis:6379", "--gcs-ft-redis-password-secret", "redis-password-secret:password",
        "--gcs-ft-external-storage-namespace", "ft-demo-storage",
    ],
    "config-file-3-groups": ["--file", str(REPO / "examples" / "create-cluster.yaml")],
}


def dry_run_yaml(*args: str) -> str:
    result = run_cli("create", "cluster", *args, "--dry-run", "-o", "yaml")
    assert result.exit_code == 0, result
    assert result.stderr == ""
    return result.stdout


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_golden(case: str) -> None:
    produced = yaml.safe_load(dry_run_yaml(*GOLDEN_CASES[case]))
    path = GOLDEN / f"{case}.yaml"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# kubectl ray create cluster {' '.join(_display(a) for a in GOLDEN_CASES[case])} --dry-run\n"
                        + to_yaml(produced))
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 and review it"
    assert produced == yaml.safe_load(path.read_text())
    assert_valid_cr(produced)
    assert_valid_cr(produced, "v1.4.2")  # the oldest KubeRay the plugin fully supports


def _display(arg: str) -> str:
    return str(Path(arg).relative_to(REPO)) if arg.startswith(str(REPO)) else (f"'{arg}'" if any(c in arg for c in ' {"') else arg)


def test_default_dry_run_yaml_is_byte_exact() -> None:
    assert dry_run_yaml("sample-cluster") == """\
apiVersion: ray.io/v1
kind: RayCluster
metadata:
  name: sample-cluster
  namespace: default
spec:
  headGroupSpec:
    template:
      spec:
        containers:
        - image: rayproject/ray:2.52.0
          name: ray-head
          ports:
          - containerPort: 6379
            name: gcs-server
          - containerPort: 8265
            name: dashboard
          - containerPort: 10001
            name: client
          resources:
            limits:
              memory: 4Gi
            requests:
              cpu: '2'
              memory: 4Gi
  rayVersion: 2.52.0
  workerGroupSpecs:
  - groupName: default-group
    maxReplicas: 2147483647
    minReplicas: 0
    numOfHosts: 1
    replicas: 1
    template:
      spec:
        containers:
        - image: rayproject/ray:2.52.0
          name: ray-worker
          resources:
            limits:
              memory: 4Gi
            requests:
              cpu: '2'
              memory: 4Gi
"""


def test_golden_files_have_no_strays() -> None:
    """Every golden file belongs to a case (a renamed case must not leave a stale file behind)."""
    assert sorted(p.stem for p in GOLDEN.glob("*.yaml")) == sorted(GOLDEN_CASES)


# --- the builder API other commands use -----------------------------------------------------------


def test_build_raycluster_defaults_equal_the_cli_defaults() -> None:
    built = build_raycluster(ClusterOptions(name="sample-cluster", namespace="default"))
    assert built == yaml.safe_load(dry_run_yaml("sample-cluster"))


def test_build_cluster_spec_is_the_spec_of_build_raycluster() -> None:
    options = ClusterOptions(name="x", worker_groups=[WorkerGroupOptions(name="a"), WorkerGroupOptions(name="b", replicas=0)])
    assert build_cluster_spec(options) == build_raycluster(options)["spec"]
    assert [g["groupName"] for g in build_cluster_spec(options)["workerGroupSpecs"]] == ["a", "b"]


def test_build_worker_group_shape_and_resource_rules() -> None:
    group = WorkerGroupOptions(name="g", replicas=2, min_replicas=1, max_replicas=4, cpu="500m", memory="4096Mi",
                               gpu="1", resources={"amd.com/gpu": "2"}, env={"A": "1"})
    assert build_worker_group(group, "img:1") == {
        "groupName": "g", "replicas": 2, "minReplicas": 1, "maxReplicas": 4, "numOfHosts": 1,
        "template": {"spec": {"containers": [{
            "name": "ray-worker", "image": "img:1", "env": [{"name": "A", "value": "1"}],
            "resources": {
                # quantities as written (4096Mi stays 4096Mi, as the API server keeps them); no CPU limit
                "requests": {"cpu": "500m", "memory": "4096Mi", "nvidia.com/gpu": "1", "amd.com/gpu": "2"},
                "limits": {"memory": "4096Mi", "nvidia.com/gpu": "1", "amd.com/gpu": "2"},
            }}]}},
    }


def test_build_worker_group_can_always_send_ray_start_params() -> None:
    """KubeRay < 1.4 requires rayStartParams (kuberay#3250); create workergroup sends {}."""
    assert "rayStartParams" not in build_worker_group(WorkerGroupOptions(), "img")
    assert {k: build_worker_group(WorkerGroupOptions(), "img")[k] for k in ("minReplicas", "maxReplicas")} == {
        "minReplicas": 0, "maxReplicas": 2147483647}  # the API server's defaults, written out (issue 15)
    assert build_worker_group(WorkerGroupOptions(), "img", always_ray_start_params=True)["rayStartParams"] == {}


def test_zero_quantities_are_left_out() -> None:
    group = WorkerGroupOptions(cpu="0", memory="", gpu="0", tpu=None)
    assert "resources" not in build_worker_group(group, "img")["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("resources, text", [
    ({"NPU": 1}, '"{\\"NPU\\":1}"'),
    ({"NPU": 1, "Custom2": 0.5}, '"{\\"NPU\\":1,\\"Custom2\\":0.5}"'),
])
def test_ray_resources_param_is_json_wrapped_in_escaped_quotes(resources: dict, text: str) -> None:
    assert ray_resources_param(resources) == text
    # in YAML it reads exactly like KubeRay's docs: resources: '"{\"NPU\":1}"'
    if resources == {"NPU": 1}:
        assert to_yaml({"resources": ray_resources_param(resources)}) == "resources: '\"{\\\"NPU\\\":1}\"'\n"


def test_ray_resources_param_survives_the_shell_kuberay_runs_it_in() -> None:
    """KubeRay runs `ray start ... --resources=<value>` through a shell: the shell must yield the JSON."""
    import json
    import shlex

    words = shlex.split(f"ray start --resources={ray_resources_param({'NPU': 1, 'x': 2})}")
    assert json.loads(words[-1].split("=", 1)[1]) == {"NPU": 1, "x": 2}


def test_gcsfuse_volume_mount_and_sidecar_annotations() -> None:
    fuse = GcsFuseOptions(bucket_name="my-bucket", mount_path="/data", mount_options="implicit-dirs",
                          disable_metrics=True, cpu="250m", memory="1Gi")
    obj = build_raycluster(ClusterOptions(name="fuse", namespace="default", gcsfuse=fuse))
    for group in (obj["spec"]["headGroupSpec"], obj["spec"]["workerGroupSpecs"][0]):
        template = group["template"]
        assert template["metadata"]["annotations"] == {
            "gke-gcsfuse/volumes": "true", "gke-gcsfuse/cpu-request": "250m",
            "gke-gcsfuse/memory-limit": "1Gi", "gke-gcsfuse/memory-request": "1Gi"}
        assert template["spec"]["volumes"] == [{"name": "cluster-storage", "csi": {
            "driver": "gcsfuse.csi.storage.gke.io",
            "volumeAttributes": {"bucketName": "my-bucket", "mountOptions": "implicit-dirs", "disableMetrics": "true"}}}]
        assert template["spec"]["containers"][0]["volumeMounts"] == [{"name": "cluster-storage", "mountPath": "/data"}]
    assert_valid_cr(obj)
