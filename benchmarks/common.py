"""Shared helpers for benchmarks: measuring one process honestly, the emulator as its own process, tables.

What one run of a command reports (`run_measured`):

- wall time;
- CPU: user + system time of the process (and of children it waited for), from wait4;
- peak RSS: the process's own high-water mark, VmHWM in /proc/<pid>/status, sampled every millisecond
  while it runs (the mark only grows, so the last sample is within a millisecond of the end). Not
  wait4's ru_maxrss: a child started by vfork/exec inherits the parent's mark, which made a 10 MiB
  `--help` read as 42 MB when the benchmark process held the emulator;
- the emulator's CPU during the run, when the emulator is an `EmulatorProcess` (its own process, so
  its CPU is its own: /proc/<pid>/stat). A figure where the emulator used more than half of the
  client's CPU is flagged: it says as much about the emulator as about the client.

Figures on 2-core machines are noisy, so every scenario is a ratio against a reference command run
in the same process, interleaved run by run, median of N.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

EMULATOR_SHARE_FLAG = 0.5  # emulator CPU above this share of the client's CPU: the row is flagged
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    seconds: float
    cpu: float  # user + system seconds of the measured process
    peak_rss_kb: int  # its VmHWM
    server_cpu: float = 0.0  # the emulator's CPU seconds during the run
    returncode: int = 0


@dataclass
class Timing:
    """The samples of one command; medians and ranges for the tables."""

    samples: list[Sample] = field(default_factory=list)

    @property
    def seconds(self) -> list[float]:
        return [s.seconds for s in self.samples]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def min_ms(self) -> float:
        return min(self.seconds) * 1000

    @property
    def max_ms(self) -> float:
        return max(self.seconds) * 1000

    @property
    def cpu_ms(self) -> float:
        return statistics.median(s.cpu for s in self.samples) * 1000

    @property
    def server_cpu_ms(self) -> float:
        return statistics.median(s.server_cpu for s in self.samples) * 1000

    @property
    def peak_rss_kb(self) -> int:
        return max((s.peak_rss_kb for s in self.samples), default=0)

    @property
    def peak_rss_mib(self) -> float:
        return self.peak_rss_kb / 1024

    @property
    def server_share(self) -> float:
        """The emulator's CPU per run as a share of the client's."""
        return self.server_cpu_ms / self.cpu_ms if self.cpu_ms else 0.0

    def spread(self) -> str:
        return f"{self.median_ms:.0f} ({self.min_ms:.0f}-{self.max_ms:.0f})"

    def server_note(self) -> str:
        """`client CPU 80 ms, emulator CPU 12 ms (15%)`, FLAGGED above EMULATOR_SHARE_FLAG."""
        share = self.server_share
        flag = " FLAGGED: emulator-bound" if share > EMULATOR_SHARE_FLAG else ""
        return f"client CPU {self.cpu_ms:.0f} ms, emulator CPU {self.server_cpu_ms:.0f} ms ({share:.0%}){flag}"


def vm_hwm_kb(pid: int) -> int | None:
    """A process's peak resident set size so far (KiB), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class PeakSampler:
    """Samples a process's VmHWM from a thread until stopped; `peak` is the highest value seen."""

    def __init__(self, pid: int, interval: float = 0.001) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.is_set():
            value = vm_hwm_kb(self.pid)
            if value:
                self.peak = max(self.peak, value)
            self._done.wait(self.interval)

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak


def run_measured(cmd: list[str], env: dict[str, str] | None = None, *, server: "EmulatorProcess | None" = None,
                 ok_codes: tuple[int, ...] = (0,), stdin: Any = None) -> Sample:
    """One run of cmd (stdout discarded): wall, CPU, own peak RSS, the emulator's CPU meanwhile."""
    server_before = server.cpu_seconds() if server else 0.0
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    sampler = PeakSampler(proc.pid)
    err = proc.stderr.read() if proc.stderr else b""  # drained while it runs: a full pipe would stall it
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    peak = sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok_codes:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {err.decode(errors='replace')[-500:]}")
    server_cpu = server.cpu_seconds() - server_before if server else 0.0
    return Sample(elapsed, usage.ru_utime + usage.ru_stime, peak, server_cpu, proc.returncode)


def compare(ours: list[str], reference: list[str] | None, runs: int, env: dict[str, str] | None = None,
            warmup: int = 2, *, server: "EmulatorProcess | None" = None,
            ok_codes: tuple[int, ...] = (0,)) -> tuple[Timing, Timing | None]:
    """Interleave ours and the reference so both see the same machine noise."""
    mine, ref = Timing(), Timing() if reference else None
    for i in range(warmup + runs):
        sample = run_measured(ours, env, server=server, ok_codes=ok_codes)
        if i >= warmup:
            mine.samples.append(sample)
        if reference and ref is not None:
            sample = run_measured(reference, env, server=server, ok_codes=ok_codes)
            if i >= warmup:
                ref.samples.append(sample)
    return mine, ref


class EmulatorProcess:
    """The test API emulator in its own process (benchmarks/serve.py), so that its CPU can be told apart.

        with EmulatorProcess(tmp, "--clusters", "5000") as emu:
            run_measured([... "--kubeconfig", emu.kubeconfig], server=emu)
    """

    def __init__(self, workdir: str | Path, *args: str) -> None:
        self.kubeconfig = str(Path(workdir) / "kubeconfig")
        self.args = list(args)
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> "EmulatorProcess":
        cmd = [sys.executable, str(BENCH / "serve.py"), "--kubeconfig", self.kubeconfig, *self.args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url:
            self.proc.wait(timeout=30)
            raise RuntimeError(f"the emulator did not start ({' '.join(self.args)}): exit {self.proc.returncode}")
        return self

    def cpu_seconds(self) -> float:
        """User + system time of the emulator process so far (with the children it waited for)."""
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return sum(int(v) for v in fields[11:15]) / _TICKS

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


_INSTALLED: dict[str, str] = {}


def installed_bin() -> str:
    """This checkout installed the way users get it (`pip install .`: a wheel, bytecode compiled, no
    editable-import hook) into a throwaway venv whose dependencies come from the running environment.
    With KRBENCH_REF=<git revision> set, that revision of the plugin is installed instead (for a
    before/after table measured by the same harness on the same machine).

    A dev checkout measures ~10 ms of start-up that users never pay: the editable install's import
    finder, and (with PYTHONDONTWRITEBYTECODE set, as on our machines) recompiling every module.
    """
    if "bin" not in _INSTALLED:
        import atexit
        import glob
        import site
        import tempfile
        import venv

        root = tempfile.mkdtemp(prefix="krbench-venv-")
        atexit.register(shutil.rmtree, root, True)
        venv.create(root, with_pip=False)
        target_site = glob.glob(os.path.join(root, "lib", "python*", "site-packages"))[0]
        with open(os.path.join(target_site, "_kubectl_ray_bench_deps.pth"), "w", encoding="utf-8") as fh:
            fh.write("\n".join(site.getsitepackages()) + "\n")  # dependencies: click, yaml
        source = str(REPO)
        ref = os.environ.get("KRBENCH_REF")
        if ref:
            source = os.path.join(root, "source")
            os.mkdir(source)
            archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", source], input=archive, check=True)
        subprocess.run([sys.executable, "-m", "pip", "--python", os.path.join(root, "bin", "python"), "install",
                        "--quiet", "--no-deps", source], check=True)
        _INSTALLED["bin"] = os.path.join(root, "bin")
    return _INSTALLED["bin"]


def plugin_cmd(*args: str) -> list[str]:
    """Our executable from the pip-installed copy (see installed_bin)."""
    return [os.path.join(installed_bin(), "kubectl-ray"), *args]


def kubectl_path() -> str | None:
    return shutil.which("kubectl")


def env_with_plugin() -> dict[str, str]:
    """PATH with the installed copy first, so `kubectl ray` dispatches to it."""
    env = dict(os.environ)
    env["PATH"] = installed_bin() + os.pathsep + env.get("PATH", "")
    return env


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def machine_facts() -> list[str]:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    kubectl = kubectl_path()
    kver = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True).stdout.splitlines()[0] if kubectl else "absent"
    return [
        f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        f"cpu: {cpu}, {os.cpu_count()} cores; load average (1, 5, 15 min) {load_average()}",
        f"python: {platform.python_version()} ({sys.executable})",
        f"kubectl: {kver}",
        f"os: {platform.platform()}",
    ]


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
