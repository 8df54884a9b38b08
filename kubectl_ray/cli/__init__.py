"""`kubectl ray`: the entry point. Subcommands are imported only when they run, to start fast.

`kubectl ray --help`, a bare `kubectl ray` and `--version` are answered here without importing click
(measured: ~25 ms of the ~50 ms a plugin start costs); tests check this text equals click's own.
"""

from __future__ import annotations

import os
import sys
from typing import Any

DEBUG = bool(os.environ.get("KUBECTL_RAY_DEBUG"))
PROG_NAME = "kubectl ray"

# name -> (module, attribute, one-line help, aliases). Kept here so `--help` imports no command.
COMMANDS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "create": ("kubectl_ray.cli.create", "create", "Create a RayCluster or add a worker group", ()),
    "get": ("kubectl_ray.cli.get", "get", "Show Ray clusters, worker groups, nodes, jobs, services, tokens", ("list",)),
    "scale": ("kubectl_ray.cli.scale", "scale", "Scale a worker group of a RayCluster", ()),
    "delete": ("kubectl_ray.cli.delete", "delete", "Delete RayClusters, RayJobs or RayServices", ()),
    "job": ("kubectl_ray.cli.job", "job", "Submit Ray jobs and follow, stop or list them", ()),
    "session": ("kubectl_ray.cli.session", "session", "Forward the dashboard, client and serve ports of a Ray cluster", ()),
    "log": ("kubectl_ray.cli.log", "log", "Download the logs of every Ray node", ("logs",)),
    "debug": ("kubectl_ray.cli.debug", "debug", "Diagnose a Ray cluster, job or service and say how to fix it", ()),
    "version": ("kubectl_ray.cli.version", "version", "Show the plugin and KubeRay operator versions", ()),
    "options": ("kubectl_ray.cli.options", "options", "List the connection flags every command accepts", ()),
}


DESCRIPTION = ("Manage Ray on Kubernetes (KubeRay): create and scale clusters, submit jobs, forward the dashboard, "
               "download logs and diagnose what is wrong.")
GLOBAL_FLAGS_EPILOG = "Connection flags (--kubeconfig, --context, -n, --token, ...) work on every command: see 'kubectl ray options'."


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args in ([], ["-h"], ["--help"]):
        sys.stdout.write(root_help())
        return 0
    if args == ["--version"]:
        from kubectl_ray import __version__

        sys.stdout.write(f"{PROG_NAME}, version {__version__}\n")
        return 0
    from kubectl_ray.cli.root import run

    return run(args)


def root_help(width: int = 80) -> str:
    """The root help as click renders it (kept identical by tests/test_cli_root.py)."""
    import textwrap

    def para(text: str) -> str:
        return textwrap.fill(text, width=width, initial_indent="  ", subsequent_indent="  ")

    def rows(pairs: list[tuple[str, str]]) -> list[str]:
        first = min(max(len(k) for k, _ in pairs), 30) + 2
        text_width = max(width - first - 2, 10)
        out = []
        for key, value in pairs:
            lines = textwrap.wrap(value, text_width) or [""]
            out.append(f"  {key.ljust(first)}{lines[0]}".rstrip())
            out.extend(" " * (first + 2) + line for line in lines[1:])
        return out

    commands = []
    for name, (module, _, short, aliases) in COMMANDS.items():
        if _module_exists(module):
            commands.append((f"{name} ({', '.join(aliases)})" if aliases else name, short))
    parts = [f"Usage: {PROG_NAME} [OPTIONS] COMMAND [ARGS]...", "", para(DESCRIPTION), "", "Options:",
             *rows([("--version", "Show the version and exit."), ("-h, --help", "Show this message and exit.")]),
             "", "Commands:", *rows(commands), "", para(GLOBAL_FLAGS_EPILOG)]
    return "\n".join(parts) + "\n"


def _module_exists(module: str) -> bool:
    """True if a command's module is on disk (checked without importing it)."""
    base = os.path.join(os.path.dirname(__file__), module.rsplit(".", 1)[-1])
    if os.path.exists(base + ".py") or os.path.isdir(base):
        return True
    # Inside the krew zipapp the modules are zip members, not files: ask the import system.
    import importlib.util

    return importlib.util.find_spec(module) is not None


def __getattr__(name: str) -> Any:
    """`kubectl_ray.cli.cli` (the click group) is loaded on first use."""
    if name == "cli":
        from kubectl_ray.cli.root import cli

        return cli
    raise AttributeError(name)
