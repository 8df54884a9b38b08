"""`kubectl ray get cluster|workergroup|node|job|service|token`: kubectl-style tables and output formats.

Shared flags and printers are in listing.py; `get workergroup` lists worker pods once per call (not
once per group, as upstream did) and counts them in memory.
"""

from __future__ import annotations

from typing import Any

import click

from kubectl_ray.cli.common import KubectlGroup, examples, kube_group
from kubectl_ray.cli.get.node import get_node
from kubectl_ray.cli.get.objects import get_cluster, get_job, get_service
from kubectl_ray.cli.get.token import get_token
from kubectl_ray.cli.get.workergroup import get_workergroup

__all__ = ["get", "get_cluster", "get_job", "get_node", "get_service", "get_token", "get_workergroup"]


# The plugin's own names (upstream's `get cluster`), their plurals, and every name kubectl gives the Ray
# kinds (raycluster, rayclusters, RayCluster, rayclusters.ray.io, rayclusters.v1.ray.io, ...).
PLUGIN_ALIASES = {"clusters": "cluster", "workergroups": "workergroup", "nodes": "node", "jobs": "job",
                  "services": "service", "tokens": "token"}
KIND_COMMANDS = {"raycluster": "cluster", "rayjob": "job", "rayservice": "service"}


class GetGroup(KubectlGroup):
    """`get TYPE [NAME...]` and `get TYPE/NAME`: TYPE in the plugin's words or kubectl's, any case."""

    suggested_names = ("raycluster", "rayclusters", "rayjob", "rayjobs", "rayservice", "rayservices")

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        from kubectl_ray.parsing import resource_type

        kind = resource_type(cmd_name)
        name = KIND_COMMANDS[kind] if kind else PLUGIN_ALIASES.get(cmd_name.lower(), cmd_name.lower())
        return super().get_command(ctx, name)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        first = args[0] if args else ""
        if "/" in first and not first.startswith("-"):
            type_, _, name = first.partition("/")
            if not type_ or not name or "/" in name:
                raise click.UsageError(f"invalid resource type/name: {first!r} (use TYPE/NAME, e.g. raycluster/demo)",
                                       ctx=ctx)
            if self.get_command(ctx, type_) is None:
                raise click.UsageError(_unknown_type(self, ctx, type_), ctx=ctx)
            args = [type_, name, *args[1:]]
        return super().resolve_command(ctx, args)


    def complete_type_slash(self, ctx: click.Context, incomplete: str) -> list[Any]:
        """`get raycluster/de<TAB>`: the names the TYPE's subcommand completes, after `TYPE/`."""
        from click.shell_completion import CompletionItem

        type_, _, partial = incomplete.partition("/")
        command = self.get_command(ctx, type_)
        argument = next((p for p in command.params if isinstance(p, click.Argument)), None) if command else None
        if argument is None:
            return []
        return [CompletionItem(f"{type_}/{item.value}", help=item.help) for item in argument.shell_complete(ctx, partial)]


def _unknown_type(group: click.Group, ctx: click.Context, typed: str) -> str:
    from kubectl_ray.cli.grammar import unknown_command_message

    return unknown_command_message(group, ctx, typed)


@click.group("get", cls=GetGroup, no_args_is_help=True, invoke_without_command=True, epilog=examples(
    "# Ray clusters in the current namespace, then in every namespace",
    "kubectl ray get cluster",
    "kubectl ray get rayclusters -A",
    "",
    "# One object, as TYPE/NAME or TYPE NAME (kubectl's names work: raycluster, rayjobs, rayservice.ray.io, ...)",
    "kubectl ray get raycluster/my-cluster -o yaml",
    "kubectl ray get rayjob my-job",
    "",
    "# Worker groups of one cluster, with min/max and ready replicas",
    "kubectl ray get workergroup -c my-cluster",
), short_help="Show Ray clusters, worker groups, nodes, jobs, services, tokens")
@kube_group
def get() -> None:
    """Display one or many Ray resources as kubectl-style tables (or json, yaml, name, jsonpath, custom-columns).

    TYPE is cluster, workergroup, node, job, service or token (plurals work), or kubectl's name of a
    Ray kind: raycluster(s), rayjob(s), rayservice(s), with or without .ray.io, in any case.
    """


for _command in (get_cluster, get_workergroup, get_node, get_job, get_service, get_token):
    get.add_command(_command)
