"""Shared helpers for benchmarks: timing subprocesses (median of N), peak RSS, machine facts, tables.

Figures on 2-core machines are noisy, so every scenario is measured as a ratio against a reference
command run in the same process, interleaved run by run.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@dataclass
class Timing:
    seconds: list[float] = field(default_factory=list)
    peak_rss_kb: int = 0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def min_ms(self) -> float:
        return min(self.seconds) * 1000

    @property
    def max_ms(self) -> float:
        return max(self.seconds) * 1000


def run_once(cmd: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> tuple[float, int, int]:
    """Wall time, peak RSS (KiB) and exit status of one run of cmd."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read() if proc.stderr else b""
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {err.decode(errors='replace')[-500:]}")
    return elapsed, usage.ru_maxrss, proc.returncode


def compare(ours: list[str], reference: list[str] | None, runs: int, env: dict[str, str] | None = None,
            warmup: int = 2) -> tuple[Timing, Timing | None]:
    """Interleave ours and the reference so both see the same machine noise."""
    mine, ref = Timing(), Timing() if reference else None
    for i in range(warmup + runs):
        t, rss, _ = run_once(ours, env)
        if i >= warmup:
            mine.seconds.append(t)
            mine.peak_rss_kb = max(mine.peak_rss_kb, rss)
        if reference and ref is not None:
            t, rss, _ = run_once(reference, env)
            if i >= warmup:
                ref.seconds.append(t)
                ref.peak_rss_kb = max(ref.peak_rss_kb, rss)
    return mine, ref


_INSTALLED: dict[str, str] = {}


def installed_bin() -> str:
    """This checkout installed the way users get it (`pip install .`: a wheel, bytecode compiled, no
    editable-import hook) into a throwaway venv whose dependencies come from the running environment.

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
            fh.write("\n".join(site.getsitepackages()) + "\n")  # dependencies: click, yaml, kubernetes
        subprocess.run([sys.executable, "-m", "pip", "--python", os.path.join(root, "bin", "python"), "install",
                        "--quiet", "--no-deps", str(REPO)], check=True)
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
        f"cpu: {cpu}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}",
        f"python: {platform.python_version()} ({sys.executable})",
        f"kubectl: {kver}",
        f"os: {platform.platform()}",
    ]


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
