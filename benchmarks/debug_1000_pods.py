"""Benchmark: `kubectl ray debug` on a RayCluster with 1000 worker pods, through the API emulator.

    python benchmarks/debug_1000_pods.py [--runs 10] [--pods 1000]

Starts the test API emulator (real HTTP on 127.0.0.1, in a thread of this process) loaded with a
healthy RayCluster of N worker pods plus one broken pod (OOMKilled), the operator, CRDs and nodes,
then runs the real CLI as a subprocess: `debug raycluster/NAME` and the namespace scan `debug`, each
median of --runs after 2 warm-up runs, interleaved with `kubectl get pods -l ray.io/cluster=NAME -o json`
(the cheapest way to even look at those pods) as the reference. Prints wall times, API calls per run
(counted by the emulator) and peak RSS. Figures only, no asserts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, env_with_plugin, kubectl_path, machine_facts, markdown_table, plugin_cmd  # noqa: E402

from tests.debug.sim import Sim, sample  # noqa: E402
from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig  # noqa: E402


def build(emu: Emulator, pods: int) -> str:
    manifest = sample("ray-cluster.complete.yaml")
    manifest["spec"]["workerGroupSpecs"][0].update(replicas=pods, maxReplicas=pods)
    target, objs = Sim("bench", max_pods_per_group=pods).healthy(manifest)
    broken = next(o for o in objs if o["kind"] == "Pod" and o["metadata"]["labels"].get("ray.io/node-type") == "worker")
    status = broken["status"]["containerStatuses"][0]
    status.update(restartCount=3, ready=False, state={"waiting": {"reason": "CrashLoopBackOff"}},
                  lastState={"terminated": {"reason": "OOMKilled", "exitCode": 137}})
    for obj in objs:
        emu.add(obj, notify=False)
    return target.name


def measure(cmd: list[str], env: dict[str, str], emu: Emulator, runs: int) -> tuple[list[float], int, int]:
    times, calls, rss = [], 0, 0
    for i in range(runs + 2):
        emu.clear_requests()
        elapsed, peak, _ = run_once_allow_1(cmd, env)
        if i >= 2:
            times.append(elapsed)
            calls = api_calls(emu)
            rss = max(rss, peak)
    return times, calls, rss


def api_calls(emu: Emulator) -> int:
    """Requests made, not counting the extra pages of a paginated list (a `continue` request)."""
    return sum(1 for r in emu.requests if not r.q("continue"))


def run_once_allow_1(cmd: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Like common.run_once, but exit code 1 (errors found) is the expected outcome of a diagnosis."""
    import os
    import subprocess
    import time

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=str(REPO))
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} exited {code}: {proc.stderr.read().decode(errors='replace')[-500:]}")
    return elapsed, usage.ru_maxrss, code


def calls_for(pods: int) -> int:
    """API calls of one `debug raycluster/NAME` with this many worker pods."""
    emu = Emulator(request_log_size=100000)
    name = build(emu, pods)
    with EmulatorServer(emu) as server, tempfile.TemporaryDirectory() as tmp:
        env = env_with_plugin()
        env["KUBECONFIG"] = write_kubeconfig(Path(tmp) / "kubeconfig", kubeconfig(server.url, namespace="bench"))
        emu.clear_requests()
        run_once_allow_1(plugin_cmd("debug", f"raycluster/{name}"), env)
        return api_calls(emu)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--json", action="store_true", help="print one JSON line of rows for benchmarks/run.py")
    args = parser.parse_args()
    emu = Emulator(request_log_size=100000)
    name = build(emu, args.pods)
    env = env_with_plugin()
    rows, medians = [], {}
    with EmulatorServer(emu) as server, tempfile.TemporaryDirectory() as tmp:
        kc = write_kubeconfig(Path(tmp) / "kubeconfig", kubeconfig(server.url, namespace="bench"))
        env["KUBECONFIG"] = kc
        scenarios = [(f"kubectl ray debug raycluster/{name}", plugin_cmd("debug", f"raycluster/{name}")),
                     ("kubectl ray debug (namespace scan)", plugin_cmd("debug")),
                     (f"kubectl ray debug raycluster/{name} -o json", plugin_cmd("debug", f"raycluster/{name}", "-o", "json"))]
        kubectl = kubectl_path()
        if kubectl:
            scenarios.append((f"reference: kubectl get pods -l ray.io/cluster={name} -o json",
                              [kubectl, "get", "pods", "-l", f"ray.io/cluster={name}", "-o", "json"]))
        for label, cmd in scenarios:
            times, calls, rss = measure(cmd, env, emu, args.runs)
            medians[label] = (times, calls, rss)
            rows.append([label, f"{statistics.median(times) * 1000:.0f}", f"{min(times) * 1000:.0f}",
                         f"{max(times) * 1000:.0f}", str(calls), f"{rss / 1024:.0f}"])
    if args.json:
        times, calls, rss = medians[f"kubectl ray debug raycluster/{name}"]
        few = calls_for(10)
        median = statistics.median(times) * 1000
        ref = next((v for k, v in medians.items() if k.startswith("reference")), None)
        print(json.dumps([{
            "scenario": f"kubectl ray debug of a cluster with {args.pods} worker pods",
            "ours": f"{median:.0f} ({min(times) * 1000:.0f}-{max(times) * 1000:.0f})",
            "reference": f"kubectl get pods -o json: {statistics.median(ref[0]) * 1000:.0f}" if ref else "-",
            "ratio": f"{median / (statistics.median(ref[0]) * 1000):.2f}" if ref else "-",
            "peak_rss": f"{rss / 1024:.0f} MB", "target": "< 1.5 s, fixed request count",
            "met": "yes" if median < 1500 and few == calls else "NO",
            "notes": f"API calls (list pages of 1000 not counted): {few} with 10 pods, {calls} with {args.pods} pods",
        }]))
        return
    print(f"# kubectl ray debug, {args.pods} worker pods (+1 head), median of {args.runs} runs\n")
    print(markdown_table(["command", "median ms", "min ms", "max ms", "API calls/run", "peak RSS MiB"], rows))
    print()
    for fact in machine_facts():
        print(f"- {fact}")


if __name__ == "__main__":
    main()
