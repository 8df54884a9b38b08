"""Benchmark runner: `python benchmarks/run.py [scenario ...] [--runs N]`.

Starts what each scenario needs (the test API emulator loaded with generated objects, a local Ray
head for job scenarios), measures our command against its reference in the same run (interleaved,
median of N >= 10), and prints a table plus the machine's details. See benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, compare, env_with_plugin, installed_bin, kubectl_path, machine_facts, markdown_table, plugin_cmd, run_once  # noqa: E402
import fixtures  # noqa: E402

from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig  # noqa: E402


@dataclass
class Result:
    scenario: str
    ours: str  # "median (min-max) ms"
    reference: str
    ratio: str
    peak_rss: str
    target: str
    met: str
    notes: str = ""


SCENARIOS: dict[str, Callable[[argparse.Namespace], list[Result]]] = {}


def scenario(name: str):
    def register(func):
        SCENARIOS[name] = func
        return func
    return register


def _fmt(t) -> str:
    return f"{t.median_ms:.0f} ({t.min_ms:.0f}-{t.max_ms:.0f})"


def _ratio_result(name: str, ours, ref, ref_label: str, target: float, notes: str = "") -> Result:
    ratio = ours.median_ms / ref.median_ms
    return Result(name, _fmt(ours), f"{ref_label}: {ref.median_ms:.0f}", f"{ratio:.2f}", f"{ours.peak_rss_kb / 1024:.0f} MB",
                  f"ratio <= {target}", "yes" if ratio <= target else "NO", notes)


class ServedEmulator:
    """An emulator on its own thread with a kubeconfig, for subprocess clients."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.server = EmulatorServer(emu)
        self.tmp = tempfile.TemporaryDirectory(prefix="krbench-")

    def __enter__(self) -> "ServedEmulator":
        self.server.start()
        self.kubeconfig = write_kubeconfig(Path(self.tmp.name) / "kubeconfig", kubeconfig(self.server.url))
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()
        self.tmp.cleanup()


def _kubectl_env(tmp: str) -> dict[str, str]:
    env = env_with_plugin()
    env["KUBECACHEDIR"] = os.path.join(tmp, "kube-cache")
    return env


@scenario("help")
def bench_help(args) -> list[Result]:
    kubectl = kubectl_path()
    results = []
    if kubectl:
        ours, ref = compare([kubectl, "ray", "--help"], [kubectl, "version", "--client"], args.runs, env_with_plugin())
        results.append(_ratio_result("kubectl ray --help", ours, ref, "kubectl version --client", 2.0))
    ours, ref = compare(plugin_cmd("--help"), [kubectl, "version", "--client"] if kubectl else None, args.runs)
    if ref:
        results.append(_ratio_result("kubectl-ray --help (no kubectl dispatch)", ours, ref, "kubectl version --client", 2.0,
                                     "the plugin's own share"))
    return results


@scenario("version")
def bench_version(args) -> list[Result]:
    emu = Emulator()
    emu.add({"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "kuberay-operator", "namespace": "kuberay-system",
                          "labels": {"app.kubernetes.io/name": "kuberay-operator"}},
             "spec": {"template": {"spec": {"containers": [{"name": "kuberay-operator", "image": "quay.io/kuberay/operator:v1.7.0"}]}}}})
    with ServedEmulator(emu) as served:
        kubectl = kubectl_path()
        ours, ref = compare(plugin_cmd("version", "--kubeconfig", served.kubeconfig),
                            [kubectl, "version", "--client"] if kubectl else None, args.runs)
    return [_ratio_result("kubectl-ray version (operator lookup)", ours, ref, "kubectl version --client", 99,
                          "informational: one API call")] if ref else []


@scenario("get-cluster")
def bench_get_cluster(args) -> list[Result]:
    emu = Emulator()
    emu.add_all(fixtures.clusters_across(500, 5))
    with ServedEmulator(emu) as served, tempfile.TemporaryDirectory() as tmp:
        kubectl = kubectl_path()
        env = _kubectl_env(tmp)
        reference = [kubectl, "get", "rayclusters", "-A", "--kubeconfig", served.kubeconfig] if kubectl else None
        ours, ref = compare(plugin_cmd("get", "cluster", "-A", "--kubeconfig", served.kubeconfig), reference, args.runs, env)
        if not ref:
            return []
        via, ref2 = compare([kubectl, "ray", "get", "cluster", "-A", "--kubeconfig", served.kubeconfig], reference,
                            args.runs, env)
    return [_ratio_result("kubectl-ray get cluster -A (500 clusters, 5 ns)", ours, ref, "kubectl get rayclusters -A", 1.2,
                          "stretch < 1.0; the plugin process"),
            _ratio_result("kubectl ray get cluster -A (through kubectl's plugin dispatch)", via, ref2,
                          "kubectl get rayclusters -A", 1.2, "includes a second kubectl start-up (~40 ms)")]


@scenario("get-workergroup")
def bench_get_workergroup(args) -> list[Result]:
    results = []
    counts = {}
    for replicas in (1, 5):  # 300 vs 1500 worker pods for 100 clusters x 3 groups
        emu = Emulator()
        for cluster in fixtures.clusters_across(100, 5, groups=3, replicas=replicas):
            emu.add(cluster)
            meta = cluster["metadata"]
            for g in range(3):
                for i in range(replicas):
                    emu.add(fixtures.worker_pod(meta["name"], meta["namespace"], f"group-{g}", i), notify=False)
        with ServedEmulator(emu) as served:
            cmd = plugin_cmd("get", "workergroup", "-A", "--kubeconfig", served.kubeconfig)
            emu.clear_requests()
            run_once(cmd)
            # list calls started (a `continue` request is the next page of the same paginated list)
            lists = [r for r in emu.requests_where(verb="list") if not r.q("continue")]
            counts[replicas * 300] = (len(lists), emu.request_count)
            if replicas == 5:
                ours, _ = compare(cmd, None, args.runs)
    independent = counts[300][0] == counts[1500][0]
    results.append(Result("kubectl ray get workergroup -A (100 clusters x 3 groups, 1500 pods)", _fmt(ours), "-", "-",
                          f"{ours.peak_rss_kb / 1024:.0f} MB", "< 1 s; list calls independent of pods",
                          "yes" if ours.median_ms < 1000 and independent else "NO",
                          f"list calls (requests incl. 500-item pages): {counts[300][0]} ({counts[300][1]}) with "
                          f"300 pods, {counts[1500][0]} ({counts[1500][1]}) with 1500 pods"))
    return results


@scenario("create-dry-run")
def bench_create_dry_run(args) -> list[Result]:
    """kubectl needs discovery (a server) even for a client dry-run; both get the same emulator."""
    kubectl = kubectl_path()
    if not kubectl:
        return []
    with ServedEmulator(Emulator()) as served, tempfile.TemporaryDirectory() as tmp:
        ours_cmd = plugin_cmd("create", "cluster", "demo", "--dry-run", "-o", "yaml", "--kubeconfig", served.kubeconfig)
        out = subprocess.run(ours_cmd, capture_output=True, text=True, check=True, env=env_with_plugin())
        manifest = Path(tmp) / "demo.yaml"
        manifest.write_text(out.stdout)
        env = _kubectl_env(tmp)
        reference = [kubectl, "create", "--dry-run=client", "-o", "yaml", "-f", str(manifest), "--kubeconfig", served.kubeconfig]
        ours, ref = compare(ours_cmd, reference, args.runs, env)
        via, ref2 = compare([kubectl, "ray", *ours_cmd[1:]], reference, args.runs, env)
    return [_ratio_result("kubectl-ray create cluster --dry-run", ours, ref, "kubectl create --dry-run=client -o yaml -f", 1.5,
                          "the plugin process"),
            _ratio_result("kubectl ray create cluster --dry-run (through kubectl's plugin dispatch)", via, ref2,
                          "kubectl create --dry-run=client -o yaml -f", 1.5, "includes a second kubectl start-up")]


@scenario("get-cluster-rss")
def bench_rss(args) -> list[Result]:
    emu = Emulator()
    emu.add_all(fixtures.clusters_across(5000, 5))
    with ServedEmulator(emu) as served:
        elapsed, rss, _ = run_once(plugin_cmd("get", "cluster", "-A", "--kubeconfig", served.kubeconfig))
        pages = len(emu.requests_where(verb="list"))
    mb = rss / 1024
    return [Result("peak RSS of get cluster -A (5000 clusters)", f"{elapsed * 1000:.0f}", "-", "-", f"{mb:.0f} MB",
                   "< 150 MB", "yes" if mb < 150 else "NO", f"{pages} list pages")]


def _external(script: str, args) -> list[Result]:
    """Scenarios whose own script prints a JSON line of results (debug, log, job benchmarks)."""
    path = REPO / "benchmarks" / script
    if not path.exists():
        return [Result(script, "-", "-", "-", "-", "-", "not run", f"{script} is missing")]
    out = subprocess.run([sys.executable, str(path), "--json", "--runs", str(args.runs)], capture_output=True, text=True,
                         cwd=REPO, env=env_with_plugin())
    if out.returncode != 0:
        return [Result(script, "-", "-", "-", "-", "-", "FAILED", out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "")]
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    return [Result(**row) for row in rows]


@scenario("debug-1000")
def bench_debug(args) -> list[Result]:
    return _external("debug_1000_pods.py", args)


@scenario("log-download")
def bench_log(args) -> list[Result]:
    return _external("log_download.py", args)


@scenario("job-submit")
def bench_job(args) -> list[Result]:
    return _external("job_submit.py", args)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", help=f"any of: {', '.join(SCENARIOS)} (default: all)")
    parser.add_argument("--runs", type=int, default=10, help="measured runs per command (median of these)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table (for RESULTS.md)")
    args = parser.parse_args()
    chosen = args.scenarios or list(SCENARIOS)
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    print(f"installing this checkout into {installed_bin()} (pip install ., as users get it) ...", file=sys.stderr)
    results: list[Result] = []
    started = time.monotonic()
    for name in chosen:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            results.extend(SCENARIOS[name](args))
        except Exception as exc:  # noqa: BLE001 - report and go on with the other scenarios
            results.append(Result(name, "-", "-", "-", "-", "-", "FAILED", f"{type(exc).__name__}: {exc}"[:200]))
    headers = ["scenario", "ours ms: median (min-max)", "reference ms (median)", "ratio", "peak RSS", "target", "met", "notes"]
    rows = [[r.scenario, r.ours, r.reference, r.ratio, r.peak_rss, r.target, r.met, r.notes] for r in results]
    if args.markdown:
        print(markdown_table(headers, rows))
    else:
        from kubectl_ray.printing import format_table

        print(format_table(headers, rows), end="")
    print()
    for fact in machine_facts():
        print(f"- {fact}")
    print(f"- runs per command: {args.runs} (median), total benchmark time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
