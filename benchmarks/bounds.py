"""Time bounds the tests no longer assert (issue 15: no wall-time asserts in tests/), measured here.

    python benchmarks/bounds.py [--runs N]

- a TAB against a refused API server: answered at once (target < 1 s; the budget is 0.7 s);
- a TAB against a silent API server (accepts, never answers): stops at the budget (target < budget + 0.4 s);
- `job logs --address URL` with nothing listening there: fails at once (target < 2 s; before: 60 s of retries);
- `create cluster --wait --timeout 2s` with an operator that never provisions: gives up near 2 s (target < 4 s);
- issue 13: `--request-timeout 1s` against an API server or Ray dashboard that trickles its headers or body
  one byte per 0.2 s, and with an exec credential plugin that never exits: one error line within the
  timeout + 1 s (target < 2 s) for get, version, debug and job logs.

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
        rows += deadline_rows(Path(tmp), args.runs)
    print("| bound | median (min-max) s | target | met |\n|---|---|---|---|")
    for name, (median, low, high), target in rows:
        print(f"| {name} | {median:.2f} ({low:.2f}-{high:.2f}) | < {target:g} s | {'yes' if median < target else 'NO'} |")
    return 0


def deadline_rows(tmp: Path, runs: int) -> list[tuple[str, tuple[float, float, float], float]]:
    """Issue 13's bound: --request-timeout 1s ends every request within 2 s, whatever the other end does."""
    import base64
    import ssl
    import stat

    import trustme

    from tests.reliability.test_deadlines import RAYJOB, TrickleServer

    rows = []
    cli = [PYTHON, "-m", "kubectl_ray"]
    for mode in ("headers", "body"):
        trickle = TrickleServer(mode)
        try:
            path = write_kubeconfig(tmp / f"trickle-{mode}", kubeconfig(trickle.url))
            for command in (["get", "cluster"], ["version"], ["debug", "demo"]):
                rows.append((f"{' '.join(command[:1])}, API server trickling its {mode}, --request-timeout 1s",
                             timed([*cli, *command, "--kubeconfig", path, "--request-timeout", "1s"], runs), 2.0))
            emu = Emulator()
            emu.add(RAYJOB)
            with EmulatorServer(emu) as server:
                ok = write_kubeconfig(tmp / "ok", kubeconfig(server.url))
                rows.append((f"job logs, Ray dashboard trickling its {mode}, --request-timeout 1s",
                             timed([*cli, "job", "logs", "nightly", "--address", trickle.url, "--kubeconfig", ok,
                                    "--request-timeout", "1s"], runs), 2.0))
        finally:
            trickle.close()
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    plugin = tmp / "hang"
    plugin.write_text(f"#!{PYTHON}\nimport time\ntime.sleep(3600)\n")
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin), "interactiveMode": "Never"}}
    emu = Emulator()
    emu.add(RAYJOB)
    with EmulatorServer(emu, ssl_context=ctx) as server:
        path = write_kubeconfig(tmp / "hang-cfg", kubeconfig(server.url, user=user, cluster_extra={
            "certificate-authority-data": base64.b64encode(ca.cert_pem.bytes()).decode()}))
        for command in (["get", "cluster"], ["version"], ["debug", "demo"],
                        ["job", "logs", "nightly", "--address", "http://127.0.0.1:1"]):
            rows.append((f"{' '.join(command[:2] if command[0] == 'job' else command[:1])}, exec plugin that never "
                         "exits, --request-timeout 1s",
                         timed([*cli, *command, "--kubeconfig", path, "--request-timeout", "1s"], runs), 2.0))
    return rows


if __name__ == "__main__":
    sys.exit(main())
