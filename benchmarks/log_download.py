"""`kubectl ray log` throughput, CPU and memory: 8 pods x 50 MB through the API emulator.

    python benchmarks/log_download.py [--pods 8] [--mb-per-pod 50] [--small-mb 5] [--concurrency 1,4] [--runs 3]

Each pod serves half its size as container stdout (pods/log, a generator of 1 MiB chunks) and half
as Ray's log folder (pods/exec running real `tar` over the channel WebSocket). The plugin runs as
its own process (`kubectl-ray log ...`, installed as users get it) and is measured as such:

- wall time: median of --runs, concurrency levels interleaved run by run so they share the noise
  of a busy machine;
- client CPU: user + system time of the plugin process (wait4);
- peak RSS: the plugin's own VmHWM, read from /proc/<pid>/status while it runs (wait4's ru_maxrss
  would report this benchmark's RSS, inherited through fork/exec);
- emulator CPU: the CPU time this process (the emulator's event loop runs in a thread here) and
  its `tar` children used during the run. A row where the emulator used more than half of the
  client's CPU is flagged: there the figure says as much about the emulator as about the plugin;
- machine cores busy: all CPU time spent on the machine during the run (/proc/stat) per second of
  wall time, other people's work included: 2.0 means a 2-core machine had nothing left to give.

A small size per pod next to the full size shows whether RSS follows the download size (it must
not: everything is streamed to disk). `--rate-mib` adds runs with every stream capped like a
kubelet link. The machine is the limit for unthrottled runs: client and emulator share its cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import EMULATOR_SHARE_FLAG, REPO, PeakSampler, env_with_plugin, machine_facts, markdown_table, plugin_cmd  # noqa: E402

sys.path.insert(0, str(REPO))
from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig  # noqa: E402

MIB = 1 << 20
RAY_LOGS = "/tmp/ray/session_latest/logs"
LOG_FILES = ("raylet.out", "gcs_server.out", "dashboard.log", "python-core-driver.log", "worker-0001.out")
TARGET_SPEEDUP = 1.5


def log_block() -> bytes:
    """1 MiB of plausible Ray log lines."""
    line = b"2026-11-23 10:00:00,000\tINFO worker.py:1234 -- Task finished in 0.01s; object store 12.3% full\n"
    return (line * (MIB // len(line) + 1))[:MIB]


def stdout_generator(size: int):
    block = log_block()

    def chunks():
        left = size
        while left > 0:
            piece = block if left >= MIB else block[:left]  # no copy per chunk: the emulator's CPU is measured too
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


# --- measuring one process ------------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    client_cpu: float  # user + system seconds of the plugin process
    loop_cpu: float  # this process during the run: the emulator's event loop thread (and this script's waiting)
    tar_cpu: float  # the emulator's `tar` children
    peak_rss_kb: int  # the plugin's VmHWM
    saved: int
    expected: int
    machine_busy: float  # cores busy on the whole machine during the run (other work included)

    @property
    def emulator_cpu(self) -> float:
        return self.loop_cpu + self.tar_cpu


def _cpu_ticks() -> tuple[int, int]:
    """(busy, all) jiffies of the whole machine from /proc/stat (guest time is already in user time)."""
    with open("/proc/stat", encoding="ascii") as fh:
        values = [int(v) for v in fh.readline().split()[1:9]]
    return sum(values) - values[3] - values[4], sum(values)


def run_client(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, float, float, float]:
    """(wall s, client CPU s, its peak RSS KiB, CPU s of this process, of its other children, machine cores busy)."""
    busy_before, _ = _cpu_ticks()
    cpu_before = time.process_time()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    sampler = PeakSampler(proc.pid, interval=0.01)
    err = proc.stderr.read() if proc.stderr else b""  # drained while it runs: a full pipe would stall it
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    peak = sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {err.decode(errors='replace')[-500:]}")
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = usage.ru_utime + usage.ru_stime
    children_cpu = (children_after.ru_utime + children_after.ru_stime
                    - children_before.ru_utime - children_before.ru_stime - client_cpu)
    busy = (_cpu_ticks()[0] - busy_before) / os.sysconf("SC_CLK_TCK") / elapsed
    return elapsed, client_cpu, peak, time.process_time() - cpu_before, max(children_cpu, 0.0), busy


def measure(pods: int, mb_per_pod: int, concurrency: int, work: Path, rate: float | None) -> Run:
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
        seconds, client_cpu, peak, loop_cpu, tar_cpu, busy = run_client(cmd, env_with_plugin())
    saved = tree_size(out)
    shutil.rmtree(out, ignore_errors=True)
    expected = pods * (size // 2 + tree_size(log_dir))
    return Run(seconds, client_cpu, loop_cpu, tar_cpu, peak, saved, expected, busy)


# --- cases and the table ------------------------------------------------------------------------------------


@dataclass
class Case:
    mb: int
    level: int
    rate: float | None
    runs: list[Run] = field(default_factory=list)

    def median(self) -> Run:
        """The run with the median wall time (its CPU and RSS figures belong to the same run)."""
        ordered = sorted(self.runs, key=lambda r: r.seconds)
        return ordered[(len(ordered) - 1) // 2]


def row(case: Case, pods: int) -> list[str]:
    run = case.median()
    expected = run.expected
    share = run.emulator_cpu / run.client_cpu if run.client_cpu else 0.0
    link = f"{case.rate / MIB:.0f} MiB/s per stream" if case.rate else "unlimited"
    spread = f"{min(r.seconds for r in case.runs):.2f}-{max(r.seconds for r in case.runs):.2f}"
    return [f"{pods} x {case.mb} MB", link, str(case.level), f"{run.seconds:.2f} ({spread})",
            f"{run.saved / MIB / run.seconds:.0f}", f"{run.client_cpu:.2f}",
            f"{run.emulator_cpu:.2f} ({run.loop_cpu:.2f} + {run.tar_cpu:.2f})",
            f"{share:.0%}" + (" FLAG" if share > EMULATOR_SHARE_FLAG else ""), f"{run.machine_busy:.2f}",
            f"{run.peak_rss_kb / 1024:.0f}",
            "yes" if run.saved == expected else f"NO ({run.saved} of {expected} bytes)"]


HEADERS = ["pods x size", "stream speed", "max-concurrency", "wall s (min-max)", "MiB/s", "client CPU s",
           "emulator CPU s (loop + tar)", "emulator / client CPU", "machine cores busy", "peak RSS MiB (VmHWM)",
           "all bytes saved"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=8)
    parser.add_argument("--mb-per-pod", type=int, default=50)
    parser.add_argument("--small-mb", type=int, default=5, help="the small size, to show RSS does not follow size")
    parser.add_argument("--concurrency", default="1,4")
    parser.add_argument("--rate-mib", type=float, default=16.0,
                        help="per-stream cap in MiB/s for the kubelet-like run (0: skip that run)")
    parser.add_argument("--runs", type=int, default=3, help="runs per case (the median is reported)")
    parser.add_argument("--json", action="store_true", help="print one JSON line of rows for benchmarks/run.py")
    args = parser.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]
    cases = {(mb, level, None): Case(mb, level, None) for mb in (args.small_mb, args.mb_per_pod) for level in levels}
    if args.rate_mib:
        cases.update({(args.mb_per_pod, level, args.rate_mib * MIB): Case(args.mb_per_pod, level, args.rate_mib * MIB)
                      for level in levels})
    with tempfile.TemporaryDirectory(prefix="kubectl-ray-bench-") as tmp:
        work = Path(tmp)
        for attempt in range(args.runs):
            for case in cases.values():
                if case.rate and attempt:  # paced runs are slow and steady: one is enough
                    continue
                case.runs.append(measure(args.pods, case.mb, case.level, work, case.rate))
                last = case.runs[-1]
                print(f"  run {attempt + 1}: {args.pods} x {case.mb} MB, {'paced' if case.rate else 'unlimited'}, "
                      f"concurrency {case.level}: {last.seconds:.2f} s, client CPU {last.client_cpu:.2f} s, "
                      f"emulator CPU {last.emulator_cpu:.2f} s, peak RSS {last.peak_rss_kb / 1024:.0f} MiB",
                      file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(json_rows(args, levels, cases)))
        return 0
    print("kubectl ray log: download through the API emulator (the plugin process measured)")
    print()
    print(markdown_table(HEADERS, [row(case, args.pods) for case in cases.values()]))
    print()
    for line in speedups(args, levels, cases):
        print(f"- {line}")
    for fact in machine_facts():
        print(f"- {fact}")
    return 0


def speedups(args: argparse.Namespace, levels: list[int], cases: dict) -> list[str]:
    low, high = min(levels), max(levels)
    lines = []
    for rate in [None] + ([args.rate_mib * MIB] if args.rate_mib else []):
        one, many = cases[(args.mb_per_pod, low, rate)].median(), cases[(args.mb_per_pod, high, rate)].median()
        verdict = "met" if one.seconds / many.seconds >= TARGET_SPEEDUP else "NOT met"
        lines.append(f"{args.pods} x {args.mb_per_pod} MB {'paced' if rate else 'unlimited'}: concurrency {high} is "
                     f"{one.seconds / many.seconds:.2f}x as fast as concurrency {low} "
                     f"(target >= {TARGET_SPEEDUP}x: {verdict})")
    return lines


def json_rows(args: argparse.Namespace, levels: list[int], cases: dict) -> list[dict]:
    """Rows for benchmarks/run.py: speed-up of the highest concurrency over 1, and RSS small vs large."""
    low, high = min(levels), max(levels)
    big, small = args.mb_per_pod, args.small_mb
    rss_small = cases[(small, high, None)].median().peak_rss_kb / 1024
    rss_big = cases[(big, high, None)].median().peak_rss_kb / 1024
    rows = []
    for rate in ([args.rate_mib * MIB] if args.rate_mib else []) + [None]:
        one, many = cases[(big, low, rate)].median(), cases[(big, high, rate)].median()
        share = many.emulator_cpu / many.client_cpu if many.client_cpu else 0.0
        link = f"{rate / MIB:.0f} MiB/s per stream, like a kubelet" if rate else "unlimited"
        rows.append({
            "scenario": f"kubectl ray log, {args.pods} pods x {big} MB ({link})",
            "ours": f"{many.seconds * 1000:.0f} at concurrency {high}", "reference": f"concurrency {low}: "
                                                                              f"{one.seconds * 1000:.0f}",
            "ratio": f"{one.seconds / many.seconds:.2f}x faster", "peak_rss": f"{many.peak_rss_kb / 1024:.0f} MB",
            "target": f">= {TARGET_SPEEDUP}x faster at concurrency {high}; flat RSS",
            "met": "yes" if one.seconds / many.seconds >= TARGET_SPEEDUP else "NO",
            "notes": f"RSS {rss_small:.0f} MB at {small} MB/pod vs {rss_big:.0f} MB at {big} MB/pod; client CPU "
                     f"{many.client_cpu:.2f} s, emulator CPU {many.emulator_cpu:.2f} s ({share:.0%} of the client's"
                     f"{', FLAGGED' if share > EMULATOR_SHARE_FLAG else ''}); machine cores busy during the run "
                     f"{many.machine_busy:.2f} of {os.cpu_count()} at concurrency {high}, {one.machine_busy:.2f} at "
                     f"concurrency {low}",
        })
    return rows


if __name__ == "__main__":
    sys.exit(main())
