"""The API emulator with generated objects, in a process of its own, for benchmarks/common.EmulatorProcess.

    python benchmarks/serve.py --kubeconfig PATH [--clusters N] [--namespaces K] [--operator]

Prints the server's URL once it listens, then serves until SIGTERM. Being its own process, its CPU
time is its own (read from /proc by the benchmark), and it does not compete for the benchmark's GIL.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import fixtures  # noqa: E402

from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig  # noqa: E402

OPERATOR = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "kuberay-operator", "namespace": "kuberay-system",
                 "labels": {"app.kubernetes.io/name": "kuberay-operator"}},
    "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "kuberay-operator"}},
             "template": {"metadata": {"labels": {"app.kubernetes.io/name": "kuberay-operator"}},
                          "spec": {"containers": [{"name": "kuberay-operator", "image": "quay.io/kuberay/operator:v1.7.0"}]}}},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--clusters", type=int, default=0, help="RayClusters to load (benchmarks/fixtures.py)")
    parser.add_argument("--namespaces", type=int, default=5, help="spread over this many namespaces")
    parser.add_argument("--operator", action="store_true", help="a KubeRay operator Deployment (for `version`)")
    args = parser.parse_args()
    emu = Emulator()
    emu.add_all(fixtures.clusters_across(args.clusters, args.namespaces))
    if args.operator:
        emu.add(OPERATOR)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with EmulatorServer(emu) as server:
        write_kubeconfig(args.kubeconfig, kubeconfig(server.url))
        print(server.url, flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
