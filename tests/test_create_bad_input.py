"""Every bad input of issue 3 point 7: one `error:` line naming the flag and value, exit 1 or 2, and
not a single write request (run against the emulator, so "zero writes" is what the server saw)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ray_cluster

NOT_YAML = "name: demo\nhead: {cpu: 2\n"
UNKNOWN_KEY = "name: demo\nworker-groups:\n- name: g\n  cpus: 4\n"

# id -> (arguments after `kubectl ray`, files to write {name: text}, words the error line must contain)
CASES: dict[str, tuple[list[str], dict[str, str], list[str]]] = {
    "quantity-2GG": (["create", "cluster", "demo", "--head-cpu", "2GG"], {}, ["--head-cpu", "'2GG'"]),
    "quantity-negative": (["create", "cluster", "demo", "--worker-memory", "-1"], {}, ["--worker-memory", "'-1'", "negative"]),
    "quantity-abc": (["create", "cluster", "demo", "--worker-gpu", "abc"], {}, ["--worker-gpu", "'abc'"]),
    "quantity-ephemeral": (["create", "cluster", "demo", "--head-ephemeral-storage", "10XB"], {}, ["--head-ephemeral-storage", "'10XB'"]),
    "extended-resource-fraction": (["create", "cluster", "demo", "--worker-resources", "amd.com/gpu=0.5"], {},
                                   ["--worker-resources", "amd.com/gpu=0.5", "whole numbers"]),
    "extended-resource-no-domain": (["create", "cluster", "demo", "--worker-resources", "npu=1"], {},
                                    ["--worker-resources", "'npu'", "domain prefix"]),
    "replicas-negative": (["create", "cluster", "demo", "--worker-replicas", "-1"], {}, ["--worker-replicas", "-1"]),
    "replicas-not-a-number": (["create", "cluster", "demo", "--worker-replicas", "two"], {}, ['"--worker-replicas"', '"two"']),
    "min-greater-than-max": (["create", "cluster", "demo", "--worker-replicas", "3", "--worker-min-replicas", "5",
                              "--worker-max-replicas", "2"], {}, ["--worker-min-replicas (5)", "--worker-max-replicas (2)"]),
    "replicas-above-max": (["create", "cluster", "demo", "--worker-replicas", "20", "--worker-max-replicas", "10"], {},
                           ["--worker-replicas (20)", "greater than", "--worker-max-replicas (10)"]),
    "replicas-below-min": (["create", "cluster", "demo", "--worker-replicas", "0", "--worker-min-replicas", "1"], {},
                           ["--worker-replicas (0)", "less than", "--worker-min-replicas (1)"]),
    "num-of-hosts-zero": (["create", "cluster", "demo", "--num-of-hosts", "0"], {}, ["--num-of-hosts", "0"]),
    "name-not-dns-1035": (["create", "cluster", "Demo_1"], {}, ["RayCluster name", "'Demo_1'"]),
    "name-starts-with-digit": (["create", "cluster", "1demo"], {}, ["RayCluster name", "'1demo'"]),
    "name-too-long": (["create", "cluster", "a" * 54], {}, ["RayCluster name", "a" * 54, "53 characters"]),
    "labels-not-key-value": (["create", "cluster", "demo", "--labels", "team"], {}, ["--labels", "'team'", "key=value"]),
    "node-selectors-malformed": (["create", "cluster", "demo", "--worker-node-selectors", "a=b,c"], {},
                                 ["--worker-node-selectors", "'c'"]),
    "ray-start-params-malformed": (["create", "cluster", "demo", "--head-ray-start-params", "=0"], {},
                                   ["--head-ray-start-params", "'=0'"]),
    "label-value-invalid": (["create", "cluster", "demo", "--labels", "team=a b"], {}, ["--labels", "'a b'"]),
    "env-malformed": (["create", "cluster", "demo", "--env", "NOVALUE"], {}, ["--env", "'NOVALUE'"]),
    "taint-bad-effect": (["create", "cluster", "demo", "--worker-tolerations", "gpu=yes:Sometimes"], {},
                         ["--worker-tolerations", "'Sometimes'"]),
    "taint-no-key": (["create", "cluster", "demo", "--head-tolerations", "=x:NoSchedule"], {},
                     ["--head-tolerations", "'=x:NoSchedule'"]),
    "taint-two-colons": (["create", "cluster", "demo", "--worker-tolerations", "a:b:NoSchedule"], {},
                         ["--worker-tolerations", "'a:b:NoSchedule'"]),
    "autoscaler-unknown": (["create", "cluster", "demo", "--autoscaler", "v3"], {}, ["--autoscaler", "'v3'"]),
    "upscaling-mode-unknown": (["create", "cluster", "demo", "--autoscaler", "v2", "--autoscaler-upscaling-mode", "Fast"], {},
                               ["--autoscaler-upscaling-mode", "'Fast'"]),
    "idle-timeout-without-autoscaler": (["create", "cluster", "demo", "--autoscaler-idle-timeout", "60"], {},
                                        ["--autoscaler-idle-timeout", "--autoscaler"]),
    "idle-timeout-not-a-duration": (["create", "cluster", "demo", "--autoscaler", "v2", "--autoscaler-idle-timeout", "soon"], {},
                                    ["--autoscaler-idle-timeout", "'soon'"]),
    "tpu-without-selectors": (["create", "cluster", "demo", "--worker-tpu", "4"], {},
                              ["cloud.google.com/gke-tpu-accelerator", "--worker-node-selectors", "--worker-tpu", "'4'"]),
    "tpu-with-one-selector": (["create", "cluster", "demo", "--worker-tpu", "4", "--worker-node-selectors",
                               "cloud.google.com/gke-tpu-accelerator=tpu-v4-podslice"], {},
                              ["cloud.google.com/gke-tpu-topology", "--worker-node-selectors"]),
    "secret-ref-without-colon": (["create", "cluster", "demo", "--gcs-ft-redis-address", "redis:6379",
                                  "--gcs-ft-redis-password-secret", "redis-auth"], {},
                                 ["--gcs-ft-redis-password-secret", "'redis-auth'", "SECRET_NAME:KEY"]),
    "secret-without-redis": (["create", "cluster", "demo", "--gcs-ft-redis-password-secret", "a:b"], {},
                             ["--gcs-ft-redis-password-secret", "--gcs-ft-redis-address"]),
    "ray-resources-reserved": (["create", "cluster", "demo", "--worker-ray-resources", '{"CPU": 1}'], {},
                               ["--worker-ray-resources", "'CPU'"]),
    "ray-resources-not-numeric": (["create", "cluster", "demo", "--worker-ray-resources", '{"NPU": "one"}'], {},
                                  ["--worker-ray-resources", "'one'", "not a number"]),
    "ray-resources-not-json": (["create", "cluster", "demo", "--head-ray-resources", "NPU=1"], {},
                               ["--head-ray-resources", "'NPU=1'", "not valid JSON"]),
    "ray-resources-twice": (["create", "cluster", "demo", "--worker-ray-resources", '{"NPU": 1}',
                             "--worker-ray-start-params", "resources={}"], {},
                            ["--worker-ray-resources", "--worker-ray-start-params"]),
    "head-service-type-unknown": (["create", "cluster", "demo", "--head-service-type", "Ingress"], {},
                                  ["--head-service-type", "'Ingress'"]),
    "timeout-not-a-duration": (["create", "cluster", "demo", "--wait", "--timeout", "forever"], {}, ["--timeout", "'forever'"]),
    "dry-run-unknown": (["create", "cluster", "demo", "--dry-run=maybe"], {}, ["Invalid dry-run value (maybe)"]),
    "name-missing": (["create", "cluster"], {}, ["cluster name is required"]),
    "config-missing": (["create", "cluster", "--file", "{tmp}/absent.yaml"], {}, ["--file", "absent.yaml", "no such file"]),
    "config-not-yaml": (["create", "cluster", "--file", "{tmp}/bad.yaml"], {"bad.yaml": NOT_YAML},
                        ["--file", "bad.yaml", "not valid YAML", "line 3"]),
    "config-unknown-key": (["create", "cluster", "--file", "{tmp}/unknown.yaml"], {"unknown.yaml": UNKNOWN_KEY},
                           ["--file", "unknown.yaml", "line 4", '"cpus"', "worker-groups[0]"]),
    "config-bad-quantity": (["create", "cluster", "--file", "{tmp}/q.yaml"], {"q.yaml": "name: demo\nhead:\n  memory: 4GG\n"},
                            ["head.memory", "q.yaml line 3", "'4GG'"]),
    "config-with-cluster-flags": (["create", "cluster", "--file", "{tmp}/ok.yaml", "--worker-cpu", "1"], {"ok.yaml": "name: demo\n"},
                                  ["incompatible with --file", "--worker-cpu"]),
    # create workergroup: upstream panicked on bad quantities
    "wg-quantity-2GG": (["create", "workergroup", "g", "-c", "demo", "--worker-cpu", "2GG"], {}, ["--worker-cpu", "'2GG'"]),
    "wg-quantity-negative": (["create", "workergroup", "g", "-c", "demo", "--worker-memory", "-1Gi"], {},
                             ["--worker-memory", "'-1Gi'"]),
    "wg-min-greater-than-max": (["create", "workergroup", "g", "-c", "demo", "--worker-min-replicas", "5",
                                 "--worker-max-replicas", "2"], {}, ["--worker-min-replicas (5)", "--worker-max-replicas (2)"]),
    "wg-replicas-above-max": (["create", "workergroup", "g", "-c", "demo", "--worker-replicas", "11"], {},
                              ["--worker-replicas (11)", "--worker-max-replicas (10)"]),
    "wg-negative-replicas": (["create", "workergroup", "g", "-c", "demo", "--worker-replicas", "-2"], {},
                             ["--worker-replicas", "-2"]),
    "wg-tpu-without-selectors": (["create", "workergroup", "g", "-c", "demo", "--worker-tpu", "8"], {},
                                 ["cloud.google.com/gke-tpu-accelerator", "--worker-node-selectors"]),
    "wg-bad-taint": (["create", "workergroup", "g", "-c", "demo", "--worker-tolerations", "k=v:Nope"], {},
                     ["--worker-tolerations", "'Nope'"]),
    "wg-name-invalid": (["create", "workergroup", "GPU_group", "-c", "demo"], {}, ["worker group name", "'GPU_group'"]),
    "wg-duplicate": (["create", "workergroup", "default-group", "-c", "demo"], {}, ['"default-group"', "already exists"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_error_line_and_zero_writes(emulator, tmp_path: Path, case: str) -> None:
    args, files, words = CASES[case]
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    emulator.emu.add(ray_cluster("demo"))
    emulator.emu.clear_requests()
    result = emulator.run(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.exit_code in (1, 2), result
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"
    assert result.stdout == ""
    assert emulator.emu.writes() == []
    if args[1] == "cluster":
        assert emulator.emu.request_count == 0  # validated before the first request of any kind
