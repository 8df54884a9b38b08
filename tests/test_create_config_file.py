"""`create cluster --file`: the strict kebab-case schema, name/namespace rules, flag conflicts."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from kubectl_ray.errors import UsageError
from kubectl_ray.resources.cluster import validate_cluster_options
from kubectl_ray.resources.config_file import HEAD_KEYS, TOP_KEYS, WORKER_GROUP_KEYS, parse_config
from tests.conftest import REPO, run_cli
from tests.crd_schema import assert_valid_cr

EXAMPLE = REPO / "examples" / "create-cluster.yaml"


def write(tmp_path: Path, text: str, name: str = "cluster.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def dry_run(*args: str) -> dict:
    result = run_cli("create", "cluster", *args, "--dry-run", "-o", "yaml")
    assert result.exit_code == 0, result
    return yaml.safe_load(result.stdout)


def test_the_shipped_example_has_three_groups_and_validates():
    obj = dry_run("--file", str(EXAMPLE))
    assert obj["metadata"]["name"] == "multi-group"
    groups = {g["groupName"]: g for g in obj["spec"]["workerGroupSpecs"]}
    assert list(groups) == ["cpu", "gpu", "npu"]
    assert groups["gpu"]["template"]["spec"]["runtimeClassName"] == "nvidia"
    assert groups["npu"]["rayStartParams"]["resources"] == '"{\\"NPU\\":1}"'
    assert obj["spec"]["autoscalerOptions"] == {"version": "v2", "idleTimeoutSeconds": 300}
    assert_valid_cr(obj)


def test_file_keys_equal_the_flags(tmp_path):
    """The same cluster from flags and from a file is the same object."""
    path = write(tmp_path, """\
        ray-version: 2.50.0
        labels: {team: ml}
        service-account: runner
        env: {A: "1"}
        head: {cpu: 1, memory: 2Gi, service-type: NodePort, tolerations: "dedicated=ray:NoSchedule"}
        worker-groups:
        - replicas: 2
          min-replicas: 1
          max-replicas: 3
          gpu: 1
          runtime-class-name: nvidia
          tolerations: [nvidia.com/gpu:NoSchedule]
          resources: {amd.com/gpu: 1}
          ray-resources: {NPU: 1}
          ray-start-params: {num-gpus: 1}
        autoscaler: {version: v1, upscaling-mode: Aggressive}
        gcs-fault-tolerance: {redis-address: "redis:6379", redis-password-secret: "auth:pw"}
        """)
    from_file = dry_run("demo", "--file", path)
    from_flags = dry_run("demo", "--ray-version", "2.50.0", "--labels", "team=ml", "--service-account", "runner",
                         "--env", "A=1", "--head-cpu", "1", "--head-memory", "2Gi", "--head-service-type", "NodePort",
                         "--head-tolerations", "dedicated=ray:NoSchedule", "--worker-replicas", "2",
                         "--worker-min-replicas", "1", "--worker-max-replicas", "3", "--worker-gpu", "1",
                         "--worker-runtime-class-name", "nvidia", "--worker-tolerations", "nvidia.com/gpu:NoSchedule",
                         "--worker-resources", "amd.com/gpu=1", "--worker-ray-resources", '{"NPU": 1}',
                         "--worker-ray-start-params", "num-gpus=1", "--autoscaler", "v1",
                         "--autoscaler-upscaling-mode", "Aggressive", "--gcs-ft-redis-address", "redis:6379",
                         "--gcs-ft-redis-password-secret", "auth:pw")
    assert from_file == from_flags


def test_every_flag_has_a_key():
    keys = set(TOP_KEYS) | {f"head-{k}" for k in HEAD_KEYS} | {f"worker-{k}" for k in WORKER_GROUP_KEYS}
    keys |= {"autoscaler-idle-timeout", "autoscaler-upscaling-mode", "num-of-hosts", "worker-replicas",
             "gcs-ft-redis-address", "gcs-ft-redis-password-secret", "gcs-ft-external-storage-namespace"}
    from kubectl_ray.cli.create.cluster import create_cluster

    flags = {max(p.opts, key=len)[2:] for p in create_cluster.params if p.opts and p.opts[0].startswith("-")}
    not_in_file = {"file", "dry-run", "output", "wait", "timeout", "help", "debug", "autoscaler-idle-timeout"} | {
        p[2:] for p in ("--kubeconfig", "--context", "--cluster", "--user", "--namespace", "--server", "--token", "--as",
                        "--as-group", "--as-uid", "--certificate-authority", "--client-certificate", "--client-key",
                        "--insecure-skip-tls-verify", "--tls-server-name", "--request-timeout")}
    assert sorted(flags - not_in_file - keys) == []


def test_defaults_in_file_mode(tmp_path):
    obj = dry_run("demo", "--file", write(tmp_path, "worker-groups: [{gpu: 1}, {name: b, replicas: 0}]\n"))
    head = obj["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert head["resources"]["requests"] == {"cpu": "2", "memory": "4Gi"}
    first, second = obj["spec"]["workerGroupSpecs"]
    assert first["groupName"] == "default-group" and first["replicas"] == 1
    assert first["template"]["spec"]["containers"][0]["resources"]["requests"] == {
        "cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"}
    assert second["groupName"] == "b" and second["replicas"] == 0
    assert first["template"]["spec"]["containers"][0]["image"] == "rayproject/ray:2.52.0"


def test_empty_file_gives_the_default_cluster(tmp_path):
    assert dry_run("demo", "--file", write(tmp_path, "")) == dry_run("demo")


def test_image_follows_ray_version_in_the_file(tmp_path):
    obj = dry_run("--file", write(tmp_path, "name: demo\nray-version: 2.50.0\n"))
    assert obj["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["image"] == "rayproject/ray:2.50.0"


def test_name_from_file_and_positional_must_agree(tmp_path):
    path = write(tmp_path, "name: from-file\n")
    assert dry_run("--file", path)["metadata"]["name"] == "from-file"
    assert dry_run("from-file", "--file", path)["metadata"]["name"] == "from-file"
    result = run_cli("create", "cluster", "other", "--file", path, "--dry-run")
    assert result.exit_code == 2
    assert result.stderr == ('error: the cluster name in the config file "from-file" does not match the cluster name '
                             '"other". You must use the same name to perform this operation\n')


def test_a_name_is_needed_somewhere(tmp_path):
    result = run_cli("create", "cluster", "--file", write(tmp_path, "ray-version: 2.52.0\n"), "--dry-run")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: a cluster name is required: give NAME or set name: in ")


def test_namespace_from_file_and_flag(tmp_path):
    path = write(tmp_path, "name: demo\nnamespace: ml\n")
    assert dry_run("--file", path)["metadata"]["namespace"] == "ml"
    assert dry_run("--file", path, "-n", "ml")["metadata"]["namespace"] == "ml"
    result = run_cli("create", "cluster", "--file", path, "-n", "other", "--dry-run")
    assert result.exit_code == 2
    assert result.stderr == ('error: the namespace in the config file "ml" does not match the namespace "other". '
                             "You must pass --namespace=ml to perform this operation\n")


def test_conflicting_flags_are_reported_together(tmp_path):
    result = run_cli("create", "cluster", "demo", "--file", write(tmp_path, "{}"), "--worker-gpu", "1",
                     "--head-cpu", "1", "--labels", "a=b")
    assert result.exit_code == 2
    assert result.stderr == ("error: the following flags are incompatible with --file: --head-cpu, --labels, "
                             "--worker-gpu (put these settings in the file)\n")


def test_kubectl_connection_flags_never_conflict_with_file(emulator, tmp_path):
    """Upstream rejected --kubeconfig and friends with --file (cobra merged the persistent flags)."""
    emulator.emu.ensure_namespace("ml")
    path = write(tmp_path, "name: demo\n")
    result = emulator.run("create", "cluster", "--file", path, "-n", "ml", "--request-timeout", "30s",
                          "--insecure-skip-tls-verify", "--wait", "--timeout", "1s", "--dry-run=server")
    assert result.exit_code == 0, result  # --kubeconfig comes from emulator.run
    assert emulator.emu.requests_where(verb="create")[0].namespace == "ml"


def test_config_from_stdin():
    result = run_cli("create", "cluster", "--file", "-", "--dry-run", "-o", "name", input="name: piped\n")
    assert (result.exit_code, result.stdout) == (0, "raycluster.ray.io/piped\n")


@pytest.mark.parametrize("text, message", [
    ("head:\n  cpu: 1\n  cpus: 2\n", 'line 3: unknown key "cpus" in head (allowed keys: cpu, env, ephemeral-storage'),
    ("worker-groups:\n- name: a\n  replica: 2\n", 'line 3: unknown key "replica" in worker-groups[0]'),
    ("name: a\nworkers: []\n", 'line 2: unknown key "workers" in the file'),
    ("gke:\n  gcsfuse:\n    bucket: b\n", 'line 3: unknown key "bucket" in gke.gcsfuse'),
    ("name: a\nname: b\n", 'line 2: key "name" is given twice'),
    ("head:\n  node-selectors: {a: b, a: c}\n", 'line 2: key "head.node-selectors.a" is given twice'),
    ("worker-groups:\n- replicas: two\n", "line 2: worker-groups[0].replicas must be an integer, not 'two'"),
    ("worker-groups: {name: a}\n", "line 1: worker-groups must be a list, not a mapping"),
    ("head: [1]\n", "line 1: head must be a mapping of keys to values, not a list"),
    ("- a\n", "line 1: the file must be a mapping of keys to values, not a list"),
    ("head:\n  cpu: [1]\n", "line 2: head.cpu must be a resource quantity such as 2, 500m or 4Gi, not a list"),
    ("worker-groups:\n- ray-resources: {NPU: one}\n", "line 2: worker-groups[0].ray-resources.NPU must be a number, not 'one'"),
    ("gke:\n  gcsfuse:\n    disable-metrics: maybe\n", "line 3: gke.gcsfuse.disable-metrics must be true or false, not 'maybe'"),
    ("head:\n  tolerations: ['a=b:Never']\n", "line 2: invalid head.tolerations effect 'Never' in 'a=b:Never'"),
    ("gcs-fault-tolerance:\n  redis-address: r:6379\n  redis-password-secret: nokey\n",
     "line 3: invalid gcs-fault-tolerance.redis-password-secret 'nokey': expected SECRET_NAME:KEY"),
    ("name: [\n", "not valid YAML: line 2, column 1: "),
    ("a: 1\n---\nb: 2\n", "not valid YAML: line 2, column 1: but found another document"),
])
def test_schema_errors_name_the_key_and_line(text, message):
    with pytest.raises(UsageError) as caught:
        parse_config(text, "c.yaml")
    assert caught.value.message.startswith(f"--file c.yaml: {message}"), caught.value.message


@pytest.mark.parametrize("text, message", [
    ("head:\n  cpu: 2GG\n", "head.cpu (c.yaml line 2) is not a valid resource quantity: '2GG'"),
    ("worker-groups:\n- name: a\n- name: b\n  replicas: 5\n  max-replicas: 2\n",
     "worker-groups[1].replicas (c.yaml line 4) (5) cannot be greater than worker-groups[1].max-replicas (c.yaml line 5) (2)"),
    ("worker-groups:\n- name: a\n- name: a\n", "duplicate worker group name 'a' (worker-groups[1].name (c.yaml line 3))"),
    ("worker-groups:\n- tpu: 4\n", "cloud.google.com/gke-tpu-accelerator is not set in worker-groups[0].node-selectors (c.yaml line 2) (worker-groups[0].tpu (c.yaml line 2) is '4')"),
    ("autoscaler:\n  version: v9\n", "invalid autoscaler.version (c.yaml line 2) 'v9': must be one of v1, v2"),
    ("autoscaler:\n  idle-timeout-seconds: 30\n",
     "autoscaler.idle-timeout-seconds (c.yaml line 2) needs the autoscaler: add autoscaler.version (c.yaml line 1) v1 or v2"),
    ("gke:\n  gcsfuse:\n    mount-path: /data\n", "gke.gcsfuse.bucket-name (c.yaml line 2) is required"),
])
def test_meaning_errors_name_the_key_and_line(text, message):
    config = parse_config(text, "c.yaml")
    config.options.name = "demo"
    with pytest.raises(UsageError) as caught:
        validate_cluster_options(config.options, config.names)
    assert caught.value.message.startswith(message), caught.value.message


def test_gcsfuse_section(tmp_path):
    path = write(tmp_path, """\
        name: fuse
        service-account: gcs-reader
        gke:
          gcsfuse:
            bucket-name: my-bucket
            mount-path: /mnt/cluster_storage
            mount-options: implicit-dirs,uid=1000
            skip-csi-bucket-access-check: true
            resources: {cpu: 250m, memory: 256Mi, ephemeral-storage: 5Gi}
        """)
    obj = dry_run("--file", path)
    worker = obj["spec"]["workerGroupSpecs"][0]["template"]
    assert worker["metadata"]["annotations"] == {
        "gke-gcsfuse/volumes": "true", "gke-gcsfuse/cpu-request": "250m", "gke-gcsfuse/memory-limit": "256Mi",
        "gke-gcsfuse/memory-request": "256Mi", "gke-gcsfuse/ephemeral-storage-limit": "5Gi",
        "gke-gcsfuse/ephemeral-storage-request": "5Gi"}
    assert worker["spec"]["volumes"][0]["csi"]["volumeAttributes"] == {
        "bucketName": "my-bucket", "mountOptions": "implicit-dirs,uid=1000", "skipCSIBucketAccessCheck": "true"}
    assert worker["spec"]["serviceAccountName"] == "gcs-reader"
    assert_valid_cr(obj)
