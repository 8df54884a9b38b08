"""Import budgets of the hot command lines: `python benchmarks/import_budget.py [--installed]`.

Each hot command runs in a fresh interpreter with `python -X importtime` against a small emulator.
Its budget says which modules it must not import (click, the `email` package, ssl on http, PyYAML
where nothing is read or printed with it, ...) and how many of our own modules it may load. The
script prints, per command, what it imported (count, our modules, the costliest imports in ms: for
information only) and exits 1 when a budget is exceeded. tests/test_import_budget.py runs the same
checks on the module sets, never on milliseconds.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ENTRY = {
    "cli": "import sys; from kubectl_ray.cli import main; sys.exit(main(sys.argv[1:]))",
    "completion": "import sys; from kubectl_ray.completion import main; sys.exit(main(sys.argv[1:]))",
}
NETWORK = ("ssl", "email", "http.client", "urllib.request", "kubernetes", "urllib3", "requests")  # plain http needs none
SLOW = ("click", "kubernetes", "tabulate", "jinja2")


@dataclass(frozen=True)
class Budget:
    name: str
    argv: tuple[str, ...]
    forbidden: tuple[str, ...]  # module names; a package forbids its submodules too
    max_own: int  # kubectl_ray modules at most
    entry: str = "cli"
    server: bool = False  # --kubeconfig of the emulator appended


BUDGETS = [
    Budget("kubectl ray --help", ("--help",),
           (*SLOW, *NETWORK, "yaml", "json", "socket", "dataclasses", "typing", "kubectl_ray.cli.root",
            "kubectl_ray.cli.common", "kubectl_ray.kube"), max_own=5),
    Budget("kubectl ray version --client", ("version", "--client"),
           (*SLOW, *NETWORK, "yaml", "json", "socket", "typing", "dataclasses", "kubectl_ray.kube",
            "kubectl_ray.cli.version"), max_own=7),  # 7: kubectl_ray.stdio, the guarded standard output
    Budget("kubectl ray get cluster -A", ("get", "cluster", "-A"), (*SLOW, *NETWORK, "kubectl_ray.cli.get.group"),
           max_own=33, server=True),  # 33 and below: + kubectl_ray.stdio (the guarded standard output)
    Budget("kubectl ray get cluster -A -o yaml", ("get", "cluster", "-A", "-o", "yaml"), (*SLOW, *NETWORK),
           max_own=34, server=True),
    Budget("kubectl ray get cluster -A -o json", ("get", "cluster", "-A", "-o", "json"), (*SLOW, *NETWORK),
           max_own=34, server=True),
    Budget("kubectl ray get job NAME -n NS", ("get", "job", "nope", "-n", "default"), (*SLOW, *NETWORK),
           max_own=33, server=True),
    Budget("kubectl ray create cluster --dry-run -o yaml -n NS", ("create", "cluster", "demo", "--dry-run", "-o",
                                                                   "yaml", "-n", "default"),
           ("kubernetes", *NETWORK, "yaml", "socket", "kubectl_ray.kube.transport"), max_own=30),
    Budget("kubectl ray <TAB> (kubectl_complete-ray '')", ("",),
           (*SLOW, *NETWORK, "yaml", "json", "socket", "dataclasses", "kubectl_ray.names", "kubectl_ray.cli.root"),
           max_own=6, entry="completion"),
    Budget("kubectl ray get cluster <TAB>", ("get", "cluster", ""), ("kubernetes", *NETWORK), max_own=45,
           entry="completion", server=True),
]


@dataclass
class Imports:
    modules: list[tuple[str, int]]  # (name, cumulative microseconds), in import order
    returncode: int
    stderr: str

    @property
    def names(self) -> set[str]:
        return {name for name, _ in self.modules}


def imported(budget: Budget, kubeconfig: str | None = None, python: str = sys.executable) -> Imports:
    """What one run of the command imported, from `python -X importtime`."""
    argv = list(budget.argv)
    if budget.server:
        assert kubeconfig is not None
        argv = [*argv[:-1], "--kubeconfig", kubeconfig, argv[-1]] if budget.entry == "completion" else \
            [*argv, "--kubeconfig", kubeconfig]
    result = subprocess.run([python, "-X", "importtime", "-c", ENTRY[budget.entry], *argv],
                            capture_output=True, text=True, timeout=120)
    modules, other = [], []
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|", 2)
            if cumulative.strip().isdigit():
                modules.append((name.strip(), int(cumulative)))
                continue
        if not line.startswith("import time:"):
            other.append(line)
    return Imports(modules, result.returncode, "\n".join(other))


def violations(budget: Budget, found: Imports) -> list[str]:
    names = found.names
    problems = [f"imports {name}" for name in sorted(names)
                if any(name == f or name.startswith(f + ".") for f in budget.forbidden)]
    own = sorted(n for n in names if n == "kubectl_ray" or n.startswith("kubectl_ray."))
    if len(own) > budget.max_own:
        problems.append(f"imports {len(own)} kubectl_ray modules (budget {budget.max_own}): {', '.join(own)}")
    if found.returncode not in (0, 1):  # 1: a NotFound is a fine outcome for an import budget
        problems.append(f"exited {found.returncode}: {found.stderr.strip()[-300:]}")
    return problems


def main() -> int:
    import argparse

    from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig
    from tests.test_get import default_namespace, ml_team_namespace

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--installed", action="store_true",
                        help="measure a pip-installed copy (benchmarks/common.installed_bin), not this checkout's venv")
    args = parser.parse_args()
    python = sys.executable
    if args.installed:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from common import installed_bin

        python = str(Path(installed_bin()) / "python")

    emu = Emulator()
    emu.add_all(default_namespace() + ml_team_namespace())
    failed = False
    with EmulatorServer(emu) as server, tempfile.TemporaryDirectory(prefix="krbudget-") as tmp:
        path = write_kubeconfig(Path(tmp) / "kubeconfig", kubeconfig(server.url))
        for budget in BUDGETS:
            found = imported(budget, path, python)
            problems = violations(budget, found)
            failed |= bool(problems)
            top = sorted((m for m in found.modules if "." not in m[0]), key=lambda m: -m[1])[:6]
            own = sum(1 for name in found.names if name.startswith("kubectl_ray"))
            print(f"{budget.name}: {len(found.modules)} modules ({own} ours, budget {budget.max_own}); "
                  f"{'OVER BUDGET: ' + '; '.join(problems) if problems else 'within budget'}")
            print("    costliest top-level imports (ms, informational): "
                  + ", ".join(f"{name} {us / 1000:.1f}" for name, us in top))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
