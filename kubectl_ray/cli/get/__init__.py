"""`kubectl ray get cluster|workergroup|node|job|service|token`: kubectl-style tables and output formats.

The click group and its subcommands (group.py, objects.py, ...) are loaded on first use of a name below:
the fast path (cli/fast.py) runs `get cluster|job|service` from listing.py without importing click.
Shared flags and printers are in listing.py; `get workergroup` lists worker pods once per call (not
once per group, as upstream did) and counts them in memory.
"""

from __future__ import annotations

__all__ = ["get", "get_cluster", "get_job", "get_node", "get_service", "get_token", "get_workergroup"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from kubectl_ray.cli.get import group

        return getattr(group, name)
    raise AttributeError(name)
