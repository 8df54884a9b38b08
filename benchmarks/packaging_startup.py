"""Startup of the krew zipapp against the pip install, and the cost of one completion TAB.

    python benchmarks/packaging_startup.py [--runs 15] [--archive dist/kubectl-ray-vX.Y.Z.tar.gz]

Builds the archive (python -m kubectl_ray._build into a temp dir) unless --archive is given,
unpacks it, and times, interleaved run by run (median, min-max of N):
- `kubectl-ray --help`, `kubectl-ray version --client`, `kubectl-ray version --client -o yaml`
  from the zipapp against the console script of this virtualenv (same Python version);
- `kubectl_complete-ray ""` (command names) and `kubectl_complete-ray version -n ""` against a
  kubeconfig whose server refuses connections (the "cluster down" TAB), both as the zipapp link;
- `version --client` without the zipapp's bytecode cache (PYTHONDONTWRITEBYTECODE, no cache dir),
  i.e. what every start would cost if Python compiled the zip's modules each time;
- the zipapp's and the archive's sizes.
Python caches no bytecode for modules in a zip; kubectl_ray/_zipapp.py keeps it in
~/.cache/kubectl-ray/ (the first, warm-up runs fill it), so the remaining difference with the pip
install is reading the zip's index and the cache files.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, compare, machine_facts, markdown_table  # noqa: E402

sys.path.insert(0, str(REPO))
from kubectl_ray._build import build, stage_sources  # noqa: E402


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fmt(timing) -> str:
    return f"{timing.median_ms:.0f} ({timing.min_ms:.0f}-{timing.max_ms:.0f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--archive", type=Path, help="an already built kubectl-ray-vX.Y.Z.tar.gz")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kubectl-ray-bench-") as tmp:
        work = Path(tmp)
        archive = args.archive
        if archive is None:
            result = build(stage_sources(REPO, work / "src"), work / "dist", work / "plugin.yaml",
                           python=sys.executable)  # same Python version as the console script compared
            archive = result.archive
        unpacked = work / "krew"
        unpacked.mkdir()
        with tarfile.open(archive) as tar:
            tar.extractall(unpacked)
        zipapp = unpacked / "kubectl-ray"
        (unpacked / "kubectl_complete-ray").symlink_to(zipapp)
        bindir = Path(sys.executable).parent
        kubeconfig = work / "down.yaml"
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: down\n"
            f"clusters: [{{name: down, cluster: {{server: 'http://127.0.0.1:{closed_port()}'}}}}]\n"
            "users: [{name: down, user: {token: x}}]\ncontexts: [{name: down, context: {cluster: down, user: down}}]\n")
        env = {"PATH": f"{unpacked}{os.pathsep}{bindir}{os.pathsep}/usr/bin:/bin", "HOME": str(work)}
        python = sys.executable
        rows = []
        for label, argv in (("--help", ["--help"]), ("version --client", ["version", "--client"]),
                            ("version --client -o yaml", ["version", "--client", "-o", "yaml"])):
            ours, ref = compare([python, str(zipapp), *argv], [str(bindir / "kubectl-ray"), *argv], args.runs, env)
            rows.append([f"kubectl-ray {label}", fmt(ours), fmt(ref), f"{ours.median_ms / ref.median_ms:.2f}x"])
        for label, argv in (('""', [""]), ('version -n "" (server down)', ["version", "--kubeconfig", str(kubeconfig), "-n", ""])):
            ours, ref = compare([python, str(unpacked / "kubectl_complete-ray"), *argv],
                                [str(bindir / "kubectl_complete-ray"), *argv], args.runs, env)
            rows.append([f"kubectl_complete-ray {label}", fmt(ours), fmt(ref), f"{ours.median_ms / ref.median_ms:.2f}x"])
        no_cache = dict(env, PYTHONDONTWRITEBYTECODE="1", XDG_CACHE_HOME=str(work / "absent"))
        ours, ref = compare([python, str(zipapp), "version", "--client"], [str(bindir / "kubectl-ray"), "version", "--client"],
                            args.runs, no_cache)
        rows.append(["kubectl-ray version --client, no bytecode cache", fmt(ours), fmt(ref), f"{ours.median_ms / ref.median_ms:.2f}x"])
        print(markdown_table(["command", "zipapp ms median (min-max)", "pip install ms", "ratio"], rows))
        print()
        print(f"zipapp {zipapp.stat().st_size / 1e6:.2f} MB; archive {archive.stat().st_size / 1e6:.2f} MB; runs {args.runs}")
        for fact in machine_facts():
            print(fact)


if __name__ == "__main__":
    main()
