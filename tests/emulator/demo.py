"""`python -m tests.emulator demo`: try kubectl-ray without a cluster.

Starts, all on 127.0.0.1: the API emulator with the KubeRay v1.7.0 CRDs, the KubeRay player (operator,
scheduler, kubelets) and a few KubeRay sample objects; a local Ray head when `ray` is installed
(the e2e extra), which every emulated Ray head then is: job submissions run on it, its logs are what
`kubectl ray log` downloads, and port-forwards land on it through the stand-in `kubectl port-forward`
(tests/fake_kubectl). It prints one `export ...` line for another terminal, then serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig
from tests.emulator.crds import find_shared
from tests.emulator.kuberay.player import Player

REPO = Path(__file__).resolve().parent.parent.parent
FAKE_KUBECTL = REPO / "tests" / "fake_kubectl" / "kubectl"
SAMPLES = ("ray-cluster.sample.yaml", "ray-service.sample.yaml")


class RayBackend:
    """Where the emulated heads really are: a Ray head the demo started or was given, or none."""

    def __init__(self, dashboard: str | None = None, client: str | None = None, logs: str | None = None) -> None:
        self.dashboard, self.client, self.logs = dashboard, client, logs
        self._proc: Any = None
        self._temp_dir = ""

    def start_own(self) -> bool:
        from tests.ray_head import ray_executable, start_ray_head

        if ray_executable() is None:
            return False
        head, self._proc = start_ray_head()
        self._temp_dir = head.temp_dir
        self.dashboard = head.dashboard_url
        self.client = None
        self.logs = str(Path(head.temp_dir) / "session_latest" / "logs")
        return True

    def stop(self) -> None:
        if self._proc is not None:
            from tests.ray_head import stop_ray_head

            stop_ray_head(self._proc, self._temp_dir)
            self._proc = None

    def forwards(self) -> dict[str, str]:
        """FAKE_KUBECTL_BACKENDS: remote port -> where the stand-in port-forward connects."""
        out = {}
        if self.dashboard:
            out["8265"] = self.dashboard.split("//", 1)[-1].rstrip("/")
        if self.client:
            out["10001"] = self.client
        return out


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator demo",
                                     description="Serve an emulated Kubernetes cluster with KubeRay until Ctrl-C.")
    parser.add_argument("--dir", help="where to write kubeconfig and env.sh (default: a new temporary folder)")
    parser.add_argument("--port", type=int, default=0, help="API server port (default: any free port)")
    parser.add_argument("--no-ray", action="store_true", help="do not start a local Ray head")
    parser.add_argument("--ray-dashboard", help="use this running Ray head (http://127.0.0.1:PORT) instead")
    parser.add_argument("--ray-client", help="its Ray client address (127.0.0.1:PORT), for port 10001")
    parser.add_argument("--ray-logs", help="its session log folder, served as /tmp/ray/session_latest/logs")
    parser.add_argument("--samples", default=",".join(SAMPLES),
                        help="KubeRay sample files to create (comma-separated; empty for none)")
    parser.add_argument("--step", type=float, default=0.3, help="seconds per kubelet step (pods move one stage per step)")
    parser.add_argument("--crd-version", default="v1.7.0", choices=("v1.7.0", "v1.4.2"))
    return parser.parse_args(argv)


def load_samples(emu: Emulator, names: list[str]) -> list[str]:
    import yaml

    created = []
    for name in names:
        path = find_shared() / "samples" / name
        with open(path, encoding="utf-8") as fh:
            for doc in yaml.safe_load_all(fh):
                if not isinstance(doc, dict) or not doc.get("kind"):
                    continue
                res = emu.registry.by_kind(doc.get("apiVersion", ""), doc["kind"])
                if res is None:
                    continue
                obj = emu.create(res, doc, (doc.get("metadata") or {}).get("namespace") or "default")
                created.append(f"{doc['kind'].lower()}/{obj['metadata']['name']}")
    return created


def env_line(kubeconfig_path: str, ray: RayBackend) -> str:
    values = {"KUBECONFIG": kubeconfig_path, "KUBECTL_PATH": str(FAKE_KUBECTL)}
    forwards = ray.forwards()
    if forwards:
        values["FAKE_KUBECTL_BACKENDS"] = json.dumps(forwards, separators=(",", ":"))
    return "export " + " ".join(f"{k}='{v}'" for k, v in values.items())


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="kubectl-ray-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    ray = RayBackend(args.ray_dashboard, args.ray_client, args.ray_logs)
    if not args.ray_dashboard and not args.no_ray and not ray.start_own():
        print("note: `ray` is not installed (pip install -e '.[e2e]'): session and job submit have no Ray head",
              file=sys.stderr)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    emu = Emulator(crd_version=args.crd_version)
    player = Player(emu, step_interval=args.step, ray_dashboard=ray.dashboard, log_dir=ray.logs)
    try:
        with EmulatorServer(emu, port=args.port) as server:
            path = write_kubeconfig(folder / "kubeconfig", kubeconfig(server.url))
            player.start()
            created = load_samples(emu, [s for s in args.samples.split(",") if s])
            line = env_line(path, ray)
            (folder / "env.sh").write_text(line + "\n", encoding="utf-8")
            print(f"API server {server.url} with KubeRay v1.7.0 (operator, scheduler and kubelets played); "
                  f"created {', '.join(created) or 'nothing'}", file=sys.stderr)
            if ray.dashboard:
                print(f"Ray head {ray.dashboard}: every emulated Ray head forwards to it", file=sys.stderr)
            print("In another terminal (or `. " + str(folder / "env.sh") + "`), then follow README.md's Quick start; "
                  "Ctrl-C here stops everything:", file=sys.stderr)
            print(line, flush=True)
            stop.wait()
    finally:
        player.stop()
        ray.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
