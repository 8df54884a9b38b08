"""Time to "submitted": `kubectl ray job submit --address URL --no-wait` vs `ray job submit --address URL --no-wait`.

    python benchmarks/job_submit.py [--runs 10] [--address http://127.0.0.1:8265] [--json]

Both submit `python -c 'print(1)'` to the same local Ray head (started here on 127.0.0.1 unless
--address is given) and return once Ray accepted the job, so the figure is the whole process's
wall time. Ours also creates the RayJob in Kubernetes and waits for its cluster, so it runs against
the test API emulator playing KubeRay (tests/e2e/operator.py: the cluster is ready at once). Runs
are interleaved (ours, Ray's, ours, ...) so both see the same machine noise; medians of --runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, env_with_plugin, machine_facts, plugin_cmd, run_measured  # noqa: E402

from tests.e2e.operator import play_kuberay  # noqa: E402
from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig  # noqa: E402

ENTRYPOINT = ["python", "-c", "print(1)"]


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and the process's own peak RSS (KiB, VmHWM) of one run; a failure stops the benchmark."""
    sample = run_measured(cmd, env)
    return sample.seconds, sample.peak_rss_kb


def ray_cli() -> str | None:
    candidate = Path(sys.executable).parent / "ray"
    return str(candidate) if candidate.exists() else shutil.which("ray")


def measure(address: str, runs: int, warmup: int = 1) -> dict[str, list[float] | int]:
    ray = ray_cli()
    if ray is None:
        raise SystemExit("the `ray` CLI is not installed (pip install -e '.[e2e]'): nothing to compare with")
    emu = Emulator()
    play_kuberay(emu)
    ours: list[float] = []
    theirs: list[float] = []
    rss = {"ours": 0, "ray": 0}
    with EmulatorServer(emu) as server, tempfile.TemporaryDirectory(prefix="krbench-job-") as tmp:
        config = write_kubeconfig(Path(tmp) / "kubeconfig", kubeconfig(server.url))
        env = env_with_plugin()
        env["RAY_USAGE_STATS_ENABLED"] = "0"
        for i in range(warmup + runs):
            mine = plugin_cmd("job", "submit", "--name", f"bench-{i}", "--address", address, "--no-wait",
                              "--kubeconfig", config, "--", *ENTRYPOINT)
            reference = [ray, "job", "submit", "--address", address, "--no-wait", "--", *ENTRYPOINT]
            t_ours, rss_ours = timed(mine, env)
            t_ray, rss_ray = timed(reference, env)
            if i >= warmup:
                ours.append(t_ours)
                theirs.append(t_ray)
                rss["ours"] = max(rss["ours"], rss_ours)
                rss["ray"] = max(rss["ray"], rss_ray)
    return {"ours": ours, "ray": theirs, "rss_ours": rss["ours"], "rss_ray": rss["ray"]}


def table(figures: dict, runs: int) -> str:
    ours, ray = statistics.median(figures["ours"]) * 1000, statistics.median(figures["ray"]) * 1000
    rows = [
        ("kubectl ray job submit --address URL --no-wait", ours, min(figures["ours"]) * 1000,
         max(figures["ours"]) * 1000, figures["rss_ours"] / 1024),
        ("ray job submit --address URL --no-wait", ray, min(figures["ray"]) * 1000, max(figures["ray"]) * 1000,
         figures["rss_ray"] / 1024),
    ]
    lines = [f"{'command':<50} {'median ms':>10} {'min':>8} {'max':>8} {'peak RSS MB':>12}"]
    lines += [f"{name:<50} {med:>10.0f} {lo:>8.0f} {hi:>8.0f} {mb:>12.0f}" for name, med, lo, hi, mb in rows]
    lines.append(f"ratio (ours / ray): {ours / ray:.2f}   runs: {runs} each, interleaved")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--address", default=None, help="an existing Ray dashboard (default: start a local head)")
    parser.add_argument("--json", action="store_true", help="print one JSON line of rows for benchmarks/run.py")
    args = parser.parse_args()
    head = proc = None
    address = args.address
    if address is None:
        from tests.ray_head import start_ray_head, stop_ray_head

        print("starting a local Ray head ...", file=sys.stderr, flush=True)
        head, proc = start_ray_head()
        address = head.dashboard_url
    try:
        figures = measure(address, args.runs)
    finally:
        if head is not None and proc is not None:
            stop_ray_head(proc, head.temp_dir)
    ours, ray = statistics.median(figures["ours"]) * 1000, statistics.median(figures["ray"]) * 1000
    if args.json:
        print(json.dumps([{
            "scenario": "kubectl ray job submit --address --no-wait (RayJob on the emulator)",
            "ours": f"{ours:.0f} ({min(figures['ours']) * 1000:.0f}-{max(figures['ours']) * 1000:.0f})",
            "reference": f"ray job submit --no-wait: {ray:.0f}", "ratio": f"{ours / ray:.2f}",
            "peak_rss": f"{figures['rss_ours'] / 1024:.0f} MB", "target": "ratio <= 0.5",
            "met": "yes" if ours / ray <= 0.5 else "NO", "notes": f"ray CLI peak RSS {figures['rss_ray'] / 1024:.0f} MB",
        }]))
        return 0
    print(table(figures, args.runs))
    print()
    for fact in machine_facts():
        print(f"- {fact}")
    return 0


if __name__ == "__main__":
    os.chdir(REPO)
    sys.exit(main())
