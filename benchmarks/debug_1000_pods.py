"""Benchmark: `kubectl ray debug` on a RayCluster with N worker pods and E events, through the API emulator.

    python benchmarks/debug_1000_pods.py [--runs 10] [--pods 1000 5000] [--events 2000]

Starts the test API emulator (real HTTP on 127.0.0.1, in a thread of this process) loaded with a
healthy RayCluster of N worker pods plus one broken pod (OOMKilled), E events about the pods
(Scheduled, Pulled, Created, Started: what a real cluster of that size shows), the operator, CRDs and
nodes. Then runs, as subprocesses interleaved run by run (median of --runs after 2 warm-ups):

    ours       kubectl-ray debug raycluster/NAME   (the pip-installed copy, see common.installed_bin)
    reference  kubectl get pods -l ray.io/cluster=NAME -o json   (the least anything can do to look at them)

and reports for each: wall time, the child's own peak RSS (`/usr/bin/time -f %M`: wait4's ru_maxrss
would inherit this process's RSS, which holds the emulator), and the emulator's CPU time during the
run (this process's CPU time: the emulator is the only thing it runs meanwhile), so a server-bound
figure can be told from a client-bound one.

The emulator deep-copies every stored object of a resource for every page it serves (test isolation);
a paginated list is then quadratic in server time for both sides. Unless --emulator-copies is given,
that copy is switched off in this process (nothing here mutates what it lists), so the figures
measure the clients.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, env_with_plugin, kubectl_path, machine_facts, markdown_table, plugin_cmd  # noqa: E402

from tests.debug.sim import Sim, ago, sample  # noqa: E402
from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig  # noqa: E402

EVENT_KINDS = (("Scheduled", "Successfully assigned {ns}/{pod} to {node}"),
               ("Pulled", 'Container image "rayproject/ray:2.46.0" already present on machine'),
               ("Created", "Created container ray-worker"), ("Started", "Started container ray-worker"))


def build(emu: Emulator, pods: int, events: int = 0) -> str:
    manifest = sample("ray-cluster.complete.yaml")
    manifest["spec"]["workerGroupSpecs"][0].update(replicas=pods, maxReplicas=pods)
    sim = Sim("bench", max_pods_per_group=pods)
    target, objs = sim.healthy(manifest)
    workers = [o for o in objs if o["kind"] == "Pod" and o["metadata"]["labels"].get("ray.io/node-type") == "worker"]
    status = workers[0]["status"]["containerStatuses"][0]
    status.update(restartCount=3, ready=False, state={"waiting": {"reason": "CrashLoopBackOff"}},
                  lastState={"terminated": {"reason": "OOMKilled", "exitCode": 137}})
    for i in range(events):
        pod = workers[(i // len(EVENT_KINDS)) % len(workers)]
        reason, text = EVENT_KINDS[i % len(EVENT_KINDS)]
        message = text.format(ns="bench", pod=pod["metadata"]["name"], node=pod["spec"].get("nodeName", "node-1"))
        ev = sim.event(pod, "Normal", reason, message, ago(minutes=100 - i % 60))
        ev["metadata"]["name"] += f".{i:06d}"
        objs.append(ev)
    for obj in objs:
        emu.add(obj, notify=False)
    return target.name


def without_page_copies(emu: Emulator) -> bool:
    """Serve lists without the per-page deep copy (see the module docstring); False if there is none."""
    import inspect

    if "deepcopy" not in inspect.getsource(type(emu).objects):
        return False

    def objects(self, res, namespace=None):  # same order and filter as Emulator.objects, no copies
        res = self._res(res)
        with self.lock:
            return [obj for (ns, _), obj in sorted(self._objects.get(res.key, {}).items())
                    if namespace is None or ns == namespace]

    emu.objects = objects.__get__(emu)  # type: ignore[method-assign]
    return True


@dataclass
class Runs:
    seconds: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)
    calls: int = 0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    def spread(self) -> str:
        return f"{self.median_ms:.0f} ({min(self.seconds) * 1000:.0f}-{max(self.seconds) * 1000:.0f})"

    @property
    def rss_mb(self) -> float:
        return max(self.rss_kb) / 1024 if self.rss_kb else 0.0

    @property
    def server_ms(self) -> float:
        return statistics.median(self.server_cpu) * 1000


def run_once(cmd: list[str], env: dict[str, str], emu: Emulator) -> tuple[float, int, float, int]:
    """(wall s, the child's own peak RSS KiB, emulator CPU s, API calls) of one run; exit 1 = findings, fine."""
    timer = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file:
        full = [timer, "-f", "%M", "-o", rss_file.name, *cmd] if timer else cmd
        emu.clear_requests()
        cpu = time.process_time()
        start = time.perf_counter()
        proc = subprocess.run(full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=str(REPO))
        elapsed = time.perf_counter() - start
        server = time.process_time() - cpu
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode(errors='replace')[-500:]}")
        lines = rss_file.read().split()
        rss = int(lines[-1]) if timer and lines and lines[-1].isdigit() else 0
    return elapsed, rss, server, api_calls(emu)


def api_calls(emu: Emulator) -> int:
    """Requests made, not counting the extra pages of a paginated list (a `continue` request)."""
    return sum(1 for r in emu.requests if not r.q("continue"))


def measure(commands: dict[str, list[str]], env: dict[str, str], emu: Emulator, runs: int) -> dict[str, Runs]:
    """Every command once per round, interleaved, so all see the same machine noise."""
    out = {label: Runs() for label in commands}
    for i in range(runs + 2):
        for label, cmd in commands.items():
            elapsed, rss, server, calls = run_once(cmd, env, emu)
            if i >= 2:
                r = out[label]
                r.seconds.append(elapsed)
                r.rss_kb.append(rss)
                r.server_cpu.append(server)
                r.calls = calls
    return out


def bench(pods: int, events: int, runs: int, copies: bool) -> tuple[dict[str, Runs], str, bool]:
    emu = Emulator(request_log_size=100000)
    name = build(emu, pods, events)
    patched = False if copies else without_page_copies(emu)
    env = env_with_plugin()
    with EmulatorServer(emu) as server, tempfile.TemporaryDirectory() as tmp:
        env["KUBECONFIG"] = write_kubeconfig(Path(tmp) / "kubeconfig", kubeconfig(server.url, namespace="bench"))
        commands = {"ours": plugin_cmd("debug", f"raycluster/{name}")}
        kubectl = kubectl_path()
        if kubectl:
            commands["reference"] = [kubectl, "get", "pods", "-l", f"ray.io/cluster={name}", "-o", "json"]
        return measure(commands, env, emu, runs), name, patched


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--pods", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--emulator-copies", action="store_true", help="keep the emulator's per-page deep copy")
    parser.add_argument("--json", action="store_true", help="print one JSON line of rows for benchmarks/run.py")
    args = parser.parse_args()
    rows, results = [], []
    for pods in args.pods:
        measured, name, patched = bench(pods, args.events, args.runs, args.emulator_copies)
        ours, ref = measured["ours"], measured.get("reference")
        ratio = ours.median_ms / ref.median_ms if ref else None
        flag = " (emulator CPU > 50% of ours: server-bound)" if ours.server_ms > 0.5 * ours.median_ms else ""
        notes = (f"emulator CPU per run: {ours.server_ms:.0f} ms for ours, {ref.server_ms:.0f} ms for kubectl{flag}; "
                 f"kubectl peak RSS {ref.rss_mb:.0f} MB; " if ref else "") + \
                f"{ours.calls} API calls; emulator page copies {'off' if patched else 'on'}"
        results.append({
            "scenario": f"kubectl ray debug, {pods} worker pods + {args.events} events",
            "ours": ours.spread(), "reference": f"kubectl get pods -o json: {ref.median_ms:.0f}" if ref else "-",
            "ratio": f"{ratio:.2f}" if ratio else "-", "peak_rss": f"{ours.rss_mb:.0f} MB", "target": "ratio <= 1.0",
            "met": ("yes" if ratio <= 1.0 else "NO") if ratio else "-", "notes": notes})
        rows.append([f"debug raycluster/{name} ({pods} pods, {args.events} events)", ours.spread(),
                     ref.spread() if ref else "-", f"{ratio:.2f}" if ratio else "-", f"{ours.rss_mb:.0f}",
                     f"{ref.rss_mb:.0f}" if ref else "-", f"{ours.server_ms:.0f} / {ref.server_ms:.0f}" if ref else "-",
                     str(ours.calls)])
    if args.json:
        print(json.dumps(results))
        return
    print(f"# kubectl ray debug vs kubectl get pods -o json, median of {args.runs} runs (interleaved)\n")
    print(markdown_table(["scenario", "ours ms", "kubectl ms", "ratio", "ours peak RSS MiB", "kubectl peak RSS MiB",
                          "emulator CPU ms (ours / kubectl)", "API calls"], rows))
    print()
    for fact in machine_facts():
        print(f"- {fact}")


if __name__ == "__main__":
    main()
