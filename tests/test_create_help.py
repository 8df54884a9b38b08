"""Help of `create cluster` / `create workergroup`: kubectl-style Examples for GPU, NPU, TPU, --file."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO, run_cli


@pytest.mark.parametrize("command", ["cluster", "workergroup"])
def test_examples_cover_gpu_npu_and_tpu(command):
    result = run_cli("create", command, "--help")
    assert result.exit_code == 0
    examples = result.stdout.split("Examples:", 1)[1]
    gpu = next(line for line in examples.splitlines() if "--worker-gpu 1" in line)
    block = examples[examples.index(gpu):].split("\n\n", 1)[0]
    assert "--worker-runtime-class-name nvidia" in block and "--worker-tolerations nvidia.com/gpu" in block
    assert "huawei.com/Ascend910B" in examples and "--worker-ray-resources '{\"NPU\": 1}'" in examples
    assert "cloud.google.com/gke-tpu-accelerator=" in examples and "cloud.google.com/gke-tpu-topology=" in examples
    assert "see 'kubectl ray options'" in result.stdout.split("Examples:", 1)[1]


def test_cluster_help_points_at_the_shipped_config_file():
    examples = run_cli("create", "cluster", "--help").stdout.split("Examples:", 1)[1]
    assert "kubectl ray create cluster --file examples/create-cluster.yaml" in examples
    assert (REPO / "examples" / "create-cluster.yaml").is_file()


def test_every_example_command_runs_as_a_dry_run(emulator):
    """Each example (continuation lines joined) runs as a client dry-run without error."""
    import shlex

    from tests.conftest import ray_cluster

    emulator.emu.add(ray_cluster("demo"))
    ran = 0
    for command in ("cluster", "workergroup"):
        text = run_cli("create", command, "--help").stdout.split("Examples:", 1)[1]
        text = text.split("Connection flags", 1)[0].replace("\\\n", " ")
        for line in (part.strip() for part in text.splitlines()):
            if not line.startswith("kubectl ray create"):
                continue
            args = [str(REPO / a) if a.startswith("examples/") else a for a in shlex.split(line)[2:] if a != "--wait"]
            if "--dry-run" not in args:
                args.append("--dry-run")
            result = emulator.run(*args)
            assert result.exit_code == 0, (line, result)
            ran += 1
    assert ran >= 12
    assert emulator.emu.writes() == []


def test_client_dry_run_does_not_load_the_kubernetes_package():
    code = ("import sys; from kubectl_ray.cli import main; rc = main(['create', 'cluster', 'demo', '--dry-run', "
            "'-o', 'json']); print(rc, 'kubernetes' in sys.modules, 'urllib3' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          env={"HOME": "/nonexistent", "PATH": "/usr/bin:/bin"})
    assert done.stderr.strip().splitlines()[-1] == "0 False False"
