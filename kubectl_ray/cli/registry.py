"""What the entry point knows without importing click: the command table, the root texts, --debug.

Kept apart from `cli/__init__.py` (the entry point) and `cli/root.py` (the click group) so that
neither imports the other's module at load time: no import circle inside `cli/`.
"""

from __future__ import annotations

import os

# --debug or KUBECTL_RAY_DEBUG=1: the last-resort handler prints a traceback.
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


def set_debug(enabled: bool) -> None:
    global DEBUG
    DEBUG = enabled


def module_exists(module: str) -> bool:
    """True if a command's module is on disk (checked without importing it)."""
    base = os.path.join(os.path.dirname(__file__), module.rsplit(".", 1)[-1])
    if os.path.exists(base + ".py") or os.path.isdir(base):
        return True
    # Inside the krew zipapp the modules are zip members, not files: ask the import system.
    import importlib.util

    return importlib.util.find_spec(module) is not None
