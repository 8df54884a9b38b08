"""`kubectl ray log` throughput and memory: 8 pods x 50 MB through the API emulator.

    python benchmarks/log_download.py [--pods 8] [--mb-per-pod 50] [--small-mb 5] [--concurrency 1,4]

Each pod serves half its size as container stdout (pods/log, a generator of 1 MiB chunks) and half
as Ray's log folder (pods/exec running real `tar` over the v4.channel.k8s.io WebSocket). The plugin
runs as its own process (`kubectl-ray log ...`); its wall time and peak RSS (getrusage of the child)
are printed for concurrency 1 vs N, at a small and the full size per pod: flat RSS across sizes
means the download streams to disk. The emulator runs in this process, on one event loop, so it is
part of what is measured; the figures are for comparing runs, not absolute Kubernetes speeds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, env_with_plugin, machine_facts, markdown_table, plugin_cmd, run_once  # noqa: E402

sys.path.insert(0, str(REPO))
from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig  # noqa: E402

MIB = 1 << 20
RAY_LOGS = "/tmp/ray/session_latest/logs"
LOG_FILES = ("raylet.out", "gcs_server.out", "dashboard.log", "python-core-driver.log", "worker-0001.out")


def log_block() -> bytes:
    """1 MiB of plausible Ray log lines."""
    line = b"2026-11-23 10:00:00,000\tINFO worker.py:1234 -- Task finished in 0.01s; object store 12.3% full\n"
    return (line * (MIB // len(line) + 1))[:MIB]


def stdout_generator(size: int):
    block = log_block()

    def chunks():
        left = size
        while left > 0:
            piece = block[:min(left, MIB)]
            left -= len(piece)
            yield piece
    return chunks


def make_log_dir(base: Path, size: int) -> Path:
    """A session_latest/logs folder of `size` bytes over a few files (shared by every pod: tar only reads it)."""
    logs = base / f"ray-logs-{size}"
    logs.mkdir(parents=True, exist_ok=True)
    block = log_block()
    per_file = size // len(LOG_FILES)
    for name in LOG_FILES:
        with open(logs / name, "wb") as fh:
            left = per_file
            while left > 0:
                piece = block[:min(left, MIB)]
                fh.write(piece)
                left -= len(piece)
    return logs


def load(emu: Emulator, pods: int, size: int, log_dir: Path) -> None:
    emu.add({"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "big", "namespace": "default"},
             "spec": {"headGroupSpec": {}, "workerGroupSpecs": []}})
    for i in range(pods):
        name = f"big-worker-{i:02d}"
        emu.add({"apiVersion": "v1", "kind": "Pod",
                 "metadata": {"name": name, "namespace": "default",
                              "labels": {"ray.io/cluster": "big", "ray.io/node-type": "worker", "ray.io/group": "g"}},
                 "spec": {"containers": [{"name": "ray-worker", "image": "rayproject/ray:2.52.0"}]},
                 "status": {"phase": "Running"}})
        emu.pod_logs[("default", name, "ray-worker")] = stdout_generator(size // 2)
        emu.pod_files[("default", name)] = {RAY_LOGS: str(log_dir)}


def tree_size(root: Path) -> int:
    """Bytes of logs saved (the folder-ownership marker `log` writes is not a log)."""
    from kubectl_ray.kube.podlogs import OWNER_MARKER

    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and p.name != OWNER_MARKER)


def measure(pods: int, mb_per_pod: int, concurrency: int, work: Path, rate: float | None = None) -> tuple[float, int, int]:
    size = mb_per_pod * MIB
    log_dir = make_log_dir(work, size - size // 2)
    emu = Emulator(request_log_size=200)
    emu.stream_rate = rate
    load(emu, pods, size, log_dir)
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    with EmulatorServer(emu) as server:
        kc = write_kubeconfig(work / "kubeconfig", kubeconfig(server.url))
        cmd = plugin_cmd("log", "big", "--out-dir", str(out), "--max-concurrency", str(concurrency),
                         "--kubeconfig", kc)
        seconds, rss_kb, _ = run_once(cmd, env_with_plugin())
    saved = tree_size(out)
    shutil.rmtree(out, ignore_errors=True)
    return seconds, rss_kb, saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=8)
    parser.add_argument("--mb-per-pod", type=int, default=50)
    parser.add_argument("--small-mb", type=int, default=5, help="the small size, to show RSS does not follow size")
    parser.add_argument("--concurrency", default="1,4")
    parser.add_argument("--rate-mib", type=float, default=16.0,
                        help="per-stream cap in MiB/s for the kubelet-like run (0: skip that run)")
    parser.add_argument("--json", action="store_true", help="print one JSON line of rows for benchmarks/run.py")
    parser.add_argument("--runs", type=int, default=1, help="accepted for benchmarks/run.py; each case runs once")
    args = parser.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]
    cases = [(mb, level, None) for mb in (args.small_mb, args.mb_per_pod) for level in levels]
    if args.rate_mib:
        cases += [(args.mb_per_pod, level, args.rate_mib * MIB) for level in levels]
    rows, figures = [], {}
    with tempfile.TemporaryDirectory(prefix="kubectl-ray-bench-") as tmp:
        work = Path(tmp)
        for mb, level, rate in cases:
            seconds, rss_kb, saved = measure(args.pods, mb, level, work, rate)
            figures[(mb, level, rate)] = (seconds, rss_kb)
            expected = args.pods * mb * MIB
            link = f"{rate / MIB:.0f} MiB/s per stream" if rate else "unlimited (CPU-bound emulator)"
            rows.append([f"{args.pods} x {mb} MB", link, str(level), f"{seconds:.2f}", f"{saved / MIB / seconds:.0f}",
                         f"{rss_kb / 1024:.0f}", "yes" if saved == expected else f"NO ({saved} of {expected} bytes)"])
            print(f"  {rows[-1][0]}, {link}, concurrency {level}: {seconds:.2f} s, peak RSS {rss_kb / 1024:.0f} MiB",
                  file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(json_rows(args, levels, figures)))
        return 0
    print("kubectl ray log: download through the API emulator (plugin process measured)")
    print()
    print(markdown_table(["pods x size", "stream speed", "max-concurrency", "wall s", "MiB/s", "peak RSS MiB",
                          "all bytes saved"], rows))
    print()
    for fact in machine_facts():
        print(f"- {fact}")
    return 0


def json_rows(args: argparse.Namespace, levels: list[int], figures: dict) -> list[dict]:
    """Rows for benchmarks/run.py: speed-up of the highest concurrency over 1, and RSS small vs large."""
    low, high = min(levels), max(levels)
    big, small = args.mb_per_pod, args.small_mb
    rss_small, rss_big = figures[(small, high, None)][1] / 1024, figures[(big, high, None)][1] / 1024
    rows = []
    for rate in ([args.rate_mib * MIB] if args.rate_mib else []) + [None]:
        one, many = figures[(big, low, rate)][0], figures[(big, high, rate)][0]
        link = f"{rate / MIB:.0f} MiB/s per stream, like a kubelet" if rate else "unlimited: CPU-bound emulator on this machine"
        rows.append({
            "scenario": f"kubectl ray log, {args.pods} pods x {big} MB ({link})",
            "ours": f"{many * 1000:.0f} at concurrency {high}", "reference": f"concurrency {low}: {one * 1000:.0f}",
            "ratio": f"{one / many:.1f}x faster", "peak_rss": f"{figures[(big, high, rate)][1] / 1024:.0f} MB",
            "target": f">= 3x faster at concurrency {high}; flat RSS", "met": "yes" if one / many >= 3 else "NO",
            "notes": f"RSS {rss_small:.0f} MB at {small} MB/pod vs {rss_big:.0f} MB at {big} MB/pod",
        })
    return rows


if __name__ == "__main__":
    sys.exit(main())
