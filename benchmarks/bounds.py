"""Time bounds the tests no longer assert (issue 15: no wall-time asserts in tests/), measured here.

    python benchmarks/bounds.py [--runs N]

- a TAB against a refused API server: answered at once (target < 1 s; the budget is 0.7 s);
- a TAB against a silent API server (accepts, never answers): stops at the budget (target < budget + 0.4 s);
- `job logs --address URL` with nothing listening there: fails at once (target < 2 s; before: 60 s of retries);
- `create cluster --wait --timeout 2s` with an operator that never provisions: gives up near 2 s (target < 4 s).

Each is a fresh process (what a user waits for), median and range of N runs, on this machine.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig  # noqa: E402

PYTHON = sys.executable


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed(cmd: list[str], runs: int) -> tuple[float, float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, timeout=300, check=False)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples), max(samples)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp, socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        refused = write_kubeconfig(Path(tmp) / "refused", kubeconfig(f"http://127.0.0.1:{closed_port()}"))
        quiet = write_kubeconfig(Path(tmp) / "silent", kubeconfig(f"http://127.0.0.1:{silent.getsockname()[1]}"))
        complete = [PYTHON, "-m", "kubectl_ray.completion", "version", "--kubeconfig"]
        rows.append(("TAB, refused API server", timed([*complete, refused, "-n", ""], args.runs), 1.0))
        rows.append(("TAB, silent API server (budget 0.7 s)", timed([*complete, quiet, "-n", ""], args.runs), 1.1))
        emu = Emulator()
        emu.add({"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "j", "namespace": "default"},
                 "spec": {"submissionMode": "InteractiveMode", "jobId": "raysubmit_x"},
                 "status": {"jobId": "raysubmit_x", "rayClusterName": "j-c"}})
        with EmulatorServer(emu) as server:
            path = write_kubeconfig(Path(tmp) / "emu", kubeconfig(server.url))
            logs = [PYTHON, "-m", "kubectl_ray", "job", "logs", "j", "--address", f"http://127.0.0.1:{closed_port()}",
                    "--kubeconfig", path]
            rows.append(("job logs --address (refused)", timed(logs, args.runs), 2.0))
            wait = [PYTHON, "-m", "kubectl_ray", "create", "cluster", "w", "--wait", "--timeout", "2s", "--kubeconfig", path]
            samples = []
            for _ in range(max(3, args.runs // 3)):
                emu.remove("rayclusters", "default", "w")
                samples.append(timed(wait, 1)[0])
            rows.append(("create --wait --timeout 2s (never ready)",
                         (statistics.median(samples), min(samples), max(samples)), 4.0))
    print("| bound | median (min-max) s | target | met |\n|---|---|---|---|")
    for name, (median, low, high), target in rows:
        print(f"| {name} | {median:.2f} ({low:.2f}-{high:.2f}) | < {target:g} s | {'yes' if median < target else 'NO'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
