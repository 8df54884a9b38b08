"""What `create cluster` and `create workergroup` share: worker-group flags, --env, -o printing."""

from __future__ import annotations

from typing import Any, Callable

import click

from kubectl_ray.errors import UsageError
from kubectl_ray.parsing import parse_key_values, parse_labels, parse_tolerations
from kubectl_ray.resources.cluster import WorkerGroupOptions, parse_ray_resources


def output_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "-o", "--output", type=click.Choice(["yaml", "json", "name"], case_sensitive=False), default=None,
        help="Print the object as yaml, json or name (default: yaml with --dry-run, else a one-line summary).",
    )(func)


def worker_group_from_flags(flags: dict[str, Any], name: str | None = None) -> WorkerGroupOptions:
    group = WorkerGroupOptions(
        replicas=flags["worker_replicas"], min_replicas=flags["worker_min_replicas"],
        max_replicas=flags["worker_max_replicas"], num_of_hosts=flags["num_of_hosts"],
        cpu=flags["worker_cpu"], memory=flags["worker_memory"], gpu=flags["worker_gpu"], tpu=flags["worker_tpu"],
        ephemeral_storage=flags["worker_ephemeral_storage"] or None,
        ray_start_params=parse_key_values("--worker-ray-start-params", flags["worker_ray_start_params"]),
        node_selectors=parse_labels("--worker-node-selectors", flags["worker_node_selectors"]),
        runtime_class_name=flags["worker_runtime_class_name"],
        tolerations=parse_tolerations("--worker-tolerations", flags["worker_tolerations"]),
        resources=parse_key_values("--worker-resources", flags["worker_resources"]),
        ray_resources=parse_ray_resources("--worker-ray-resources", flags["worker_ray_resources"]),
    )
    if name is not None:
        group.name = name
    return group


def parse_env(flag: str, values: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Repeatable KEY=VALUE; the value is kept whole (commas included)."""
    env: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise UsageError(f"invalid argument {value!r} for {flag}: must be formatted as KEY=VALUE")
        env[key] = val
    return env


def print_object(obj: dict[str, Any], output: str) -> None:
    from kubectl_ray.printing import object_ref, print_objects

    if output.lower() == "name":
        click.echo(object_ref(obj))
    else:
        print_objects([obj], output.lower())
