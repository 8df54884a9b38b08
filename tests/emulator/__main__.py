"""Standalone emulator: `python -m tests.emulator --kubeconfig out.yaml [--load objects.yaml]`.

Serves until interrupted; used by benchmarks and for trying the real kubectl against it.
`python -m tests.emulator demo` serves a cluster with KubeRay running (see demo.py).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

import yaml

from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig


def main() -> None:
    if sys.argv[1:2] == ["demo"]:
        from tests.emulator.demo import main as demo

        sys.exit(demo(sys.argv[2:]))
    parser = argparse.ArgumentParser(prog="python -m tests.emulator")
    parser.add_argument("--kubeconfig", required=True, help="where to write a kubeconfig pointing at the emulator")
    parser.add_argument("--load", action="append", default=[], help="YAML file(s) of objects to preload")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    emu = Emulator()
    for path in args.load:
        with open(path, encoding="utf-8") as fh:
            emu.add_all(doc for doc in yaml.safe_load_all(fh) if doc)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with EmulatorServer(emu, port=args.port) as server:
        write_kubeconfig(args.kubeconfig, kubeconfig(server.url))
        print(server.url, flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
